"""Reference figures for tests/dp/accountant_reference_test.ts.

Prints, as JSON, the epsilons that the published accountants give for the
cases of the test, so that anyone can regenerate them:

- Opacus (pip install opacus==1.5.4; only its numpy/scipy accountant files
  are used, torch is not needed by them): `compute_rdp` and
  `get_privacy_spent` of opacus/accountants/analysis/rdp.py with
  `RDPAccountant.DEFAULT_ALPHAS`, and `get_noise_multiplier` of
  opacus/accountants/utils.py;
- Google dp-accounting (pip install dp-accounting==0.6.0): `RdpAccountant`
  of dp_accounting/rdp/rdp_privacy_accountant.py with the same orders and
  `PoissonSampledDpEvent(q, GaussianDpEvent(sigma))` composed `steps` times;
- TensorFlow Privacy's rdp_accountant.py as of commit e4f9794 (2020-12-21,
  the last with the classic RDP-to-DP conversion, which its published MNIST
  table used), given as a file path in TFP_RDP_ACCOUNTANT.

Run: python3 scripts/dp_reference.py > reference.json
"""

import importlib.util
import json
import math
import os
import sys
import warnings

warnings.simplefilter("ignore")

from opacus.accountants.analysis import rdp as opacus_rdp  # noqa: E402
from opacus.accountants.rdp import RDPAccountant  # noqa: E402
from opacus.accountants.utils import get_noise_multiplier  # noqa: E402

ORDERS = RDPAccountant.DEFAULT_ALPHAS

# (q, sigma, steps, delta)
CASES = [
    (256 / 60000, 1.1, 14063, 1e-5),
    (256 / 60000, 1.3, 3516, 1e-5),
    (256 / 60000, 0.7, 10547, 1e-5),
    (0.01, 4.0, 10000, 1e-5),
    (0.01, 1.0, 1000, 1e-6),
    (0.001, 0.8, 100000, 1e-7),
    (0.1, 2.0, 500, 1e-5),
    (0.5, 5.0, 100, 1e-5),
    (1.0, 10.0, 1, 1e-5),
    (0.05, 0.5, 50, 1e-3),
    (256 / 30000, 1.0, 585, 1e-5),
    (1e-4, 0.6, 1000000, 1e-8),
    (0.02, 0.9, 2000, 1e-5),
]

# (target epsilon, delta, q, steps)
NOISE_CASES = [
    (1.0, 1e-5, 256 / 30000, 585),
    (3.0, 1e-5, 256 / 30000, 585),
    (8.0, 1e-5, 256 / 30000, 585),
    (3.0, 1e-5, 256 / 60000, 14063),
    (0.5, 1e-6, 0.01, 5000),
]

# The TensorFlow Privacy tutorial's published table: (sigma, epochs, published eps).
TFP_PUBLISHED = [(1.3, 15, 1.19), (1.1, 60, 3.01), (0.7, 45, 7.10)]


def opacus_eps(q, sigma, steps, delta):
    rdp = opacus_rdp.compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=ORDERS)
    eps, order = opacus_rdp.get_privacy_spent(orders=ORDERS, rdp=rdp, delta=delta)
    return float(eps), float(order)


def dp_accounting_eps(q, sigma, steps, delta):
    try:
        from dp_accounting import dp_event
        from dp_accounting.rdp import rdp_privacy_accountant
    except ImportError:
        return None
    acc = rdp_privacy_accountant.RdpAccountant(ORDERS)
    acc.compose(dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma)), steps)
    return float(acc.get_epsilon(delta))


def tfp_classic():
    path = os.environ.get("TFP_RDP_ACCOUNTANT")
    if not path:
        return None
    spec = importlib.util.spec_from_file_location("tfp_rdp", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = []
    for sigma, epochs, published in TFP_PUBLISHED:
        steps = int(math.ceil(epochs * 60000 / 256))
        rdp = module.compute_rdp(256 / 60000, sigma, steps, ORDERS)
        eps, _, order = module.get_privacy_spent(ORDERS, rdp, target_delta=1e-5)
        out.append(dict(sigma=sigma, epochs=epochs, steps=steps, published=published,
                        epsilon=float(eps), order=float(order)))
    return out


def main():
    cases = []
    for q, sigma, steps, delta in CASES:
        eps, order = opacus_eps(q, sigma, steps, delta)
        cases.append(dict(q=q, sigma=sigma, steps=steps, delta=delta, opacus=eps,
                          order=order, dp_accounting=dp_accounting_eps(q, sigma, steps, delta)))
    noise = [dict(target=t, delta=d, q=q, steps=s,
                  sigma=float(get_noise_multiplier(target_epsilon=t, target_delta=d,
                                                   sample_rate=q, steps=s)))
             for t, d, q, s in NOISE_CASES]
    json.dump(dict(python=sys.version.split()[0], cases=cases, noise=noise,
                   tfp_classic=tfp_classic()), sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
