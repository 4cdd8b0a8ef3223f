"""Each optimizer's update rule in TeX, for KaTeX on the page.

These are the spec's plain-text rules (``OptimizerSpec.rule``, which stay the reference) written
as typeset math: γ is ``lr``, λ ``weight_decay``, μ ``momentum``, τ ``dampening``, and so on.
A test checks that every registered optimizer has one.
"""

from __future__ import annotations

_G = r"g_t = \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1}"
_G_PLAIN = r"g_t = \nabla f(\theta_{t-1})"
_MOMENTS = (
    r"m_t = \beta_1 m_{t-1} + (1-\beta_1)\,g_t \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2)\,g_t^2"
)
_AMS = r"\bar v_t = \max(\bar v_{t-1}, v_t) \text{ if amsgrad, else } \bar v_t = v_t"
_ADAM_STEP = (
    r"\theta_t = {PRE}\theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\cdot"
    r"\frac{m_t}{\sqrt{\bar v_t}/\sqrt{1-\beta_2^t} + \epsilon}"
)
_SGD = [
    _G,
    r"b_1 = g_1,\quad b_t = \mu\,b_{t-1} + (1-\tau)\,g_t \quad (\mu \neq 0)",
    r"d_t = \begin{cases} g_t + \mu\,b_t & \text{nesterov} \\ b_t & \mu \neq 0 \\ g_t & \mu = 0"
    r"\end{cases}",
    r"\theta_t = \theta_{t-1} - \gamma\,d_t",
]
_ADAM = [_G, _MOMENTS, _AMS, _ADAM_STEP.replace("{PRE}", "")]
_DECOUPLED = (
    r"\text{(decoupled: } \theta_{t-1} \leftarrow (1-\gamma\lambda)\,\theta_{t-1}\text{ instead)}"
)

TEX: dict[str, list[str]] = {
    "sgd": _SGD,
    "momentum": _SGD,
    "nesterov": _SGD,
    "adagrad": [
        _G + r",\qquad \tilde\gamma_t = \frac{\gamma}{1 + (t-1)\,\eta}",
        r"s_t = s_{t-1} + g_t^2 \quad (s_0 = \text{initial\_accumulator\_value})",
        r"\theta_t = \theta_{t-1} - \tilde\gamma_t\,\frac{g_t}{\sqrt{s_t} + \epsilon}",
    ],
    "rmsprop": [
        _G,
        r"v_t = \alpha\,v_{t-1} + (1-\alpha)\,g_t^2",
        r"\text{centered: } \bar g_t = \alpha\,\bar g_{t-1} + (1-\alpha)\,g_t,\;"
        r"\tilde v_t = v_t - \bar g_t^2 \quad\text{else } \tilde v_t = v_t",
        r"\mu > 0:\; b_t = \mu\,b_{t-1} + \frac{g_t}{\sqrt{\tilde v_t} + \epsilon},\;"
        r"\theta_t = \theta_{t-1} - \gamma\,b_t",
        r"\mu = 0:\; \theta_t = \theta_{t-1} - \gamma\,\frac{g_t}{\sqrt{\tilde v_t} + \epsilon}",
    ],
    "adadelta": [
        _G + r",\qquad v_t = \rho\,v_{t-1} + (1-\rho)\,g_t^2",
        r"\Delta_t = \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\,g_t,\qquad"
        r"u_t = \rho\,u_{t-1} + (1-\rho)\,\Delta_t^2",
        r"\theta_t = \theta_{t-1} - \gamma\,\Delta_t",
    ],
    "adam": _ADAM,
    "amsgrad": _ADAM,
    "adamw": [_G_PLAIN, _MOMENTS, _AMS, _ADAM_STEP.replace("{PRE}", r"(1-\gamma\lambda)\,")],
    "adamax": [
        _G,
        r"m_t = \beta_1 m_{t-1} + (1-\beta_1)\,g_t \qquad"
        r"u_t = \max(\beta_2\,u_{t-1},\ |g_t| + \epsilon)",
        r"\theta_t = \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\cdot\frac{m_t}{u_t}",
    ],
    "nadam": [
        _G + r"\quad " + _DECOUPLED,
        r"\mu_t = \beta_1\left(1 - \tfrac12\,0.96^{t\psi}\right),\qquad \Pi_t = \mu_1\cdots\mu_t",
        _MOMENTS + r",\qquad D_t = \sqrt{v_t/(1-\beta_2^t)} + \epsilon",
        r"\theta_t = \theta_{t-1} - \gamma\,\frac{1-\mu_t}{1-\Pi_t}\cdot\frac{g_t}{D_t}"
        r" - \gamma\,\frac{\mu_{t+1}}{1-\Pi_t\,\mu_{t+1}}\cdot\frac{m_t}{D_t}",
    ],
    "radam": [
        _G + r"\quad " + _DECOUPLED,
        _MOMENTS + r",\qquad \hat m_t = \frac{m_t}{1-\beta_1^t}",
        r"\rho_\infty = \frac{2}{1-\beta_2} - 1,\qquad"
        r"\rho_t = \rho_\infty - \frac{2t\,\beta_2^t}{1-\beta_2^t}",
        r"\rho_t > 5:\; r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\,\rho_\infty}"
        r"{(\rho_\infty-4)(\rho_\infty-2)\,\rho_t}},\;"
        r"\theta_t = \theta_{t-1} - \gamma\,\hat m_t\,r_t\,\frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t}+\epsilon}",
        r"\text{otherwise: } \theta_t = \theta_{t-1} - \gamma\,\hat m_t",
    ],
    "rprop": [
        r"s = \operatorname{sign}(g_t\,g_{t-1}),\qquad \Delta_0 = \gamma",
        r"\Delta_t = \operatorname{clip}\!\left(\Delta_{t-1}\cdot\begin{cases}\eta_+ & s>0\\"
        r"\eta_- & s<0\\ 1 & s=0\end{cases},\ \Delta_{\min},\ \Delta_{\max}\right)",
        r"s < 0:\; g_t \leftarrow 0",
        r"\theta_t = \theta_{t-1} - \Delta_t\,\operatorname{sign}(g_t)",
    ],
    "lion": [
        r"c_t = \beta_1 m_{t-1} + (1-\beta_1)\,g_t",
        r"\theta_t = \theta_{t-1} - \gamma\left(\operatorname{sign}(c_t) + \lambda\,\theta_{t-1}\right)",
        r"m_t = \beta_2 m_{t-1} + (1-\beta_2)\,g_t",
    ],
    "newton": [
        r"H_t = \nabla^2 f(\theta_{t-1}) = Q\,\operatorname{diag}(\lambda)\,Q^\top,\qquad"
        r"|H|_\delta = Q\,\operatorname{diag}(\max(|\lambda|, \delta))\,Q^\top",
        r"\theta_t = \theta_{t-1} - \gamma\,|H|_\delta^{-1}\,\nabla f(\theta_{t-1})",
    ],
}

SYMBOLS: dict[str, str] = {
    "lr": r"\gamma",
    "momentum": r"\mu",
    "dampening": r"\tau",
    "weight_decay": r"\lambda",
    "beta1": r"\beta_1",
    "beta2": r"\beta_2",
    "eps": r"\epsilon",
    "alpha": r"\alpha",
    "rho": r"\rho",
    "lr_decay": r"\eta",
    "momentum_decay": r"\psi",
    "eta_minus": r"\eta_-",
    "eta_plus": r"\eta_+",
    "step_size_min": r"\Delta_{\min}",
    "step_size_max": r"\Delta_{\max}",
    "min_curvature": r"\delta",
}
"""The symbol of each hyperparameter in the rules above (the panel lists ``γ = 0.05``...)."""
