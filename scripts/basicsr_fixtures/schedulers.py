"""Learning rates per iteration from BasicSR's own schedulers and its update_learning_rate.

Writes schedulers.json: a list of cases, each with the scheduler options as a BasicSR config
gives them (`type` and its arguments), the optimizer's lr, `warmup_iter`, and `lrs`: the
learning rate iteration 1, 2, ... runs with, read after BasicSR's
`BaseModel.update_learning_rate(current_iter, warmup_iter)` as its training loop calls it.
"""

import json

import torch
from basicsr.models import lr_scheduler
from basicsr.models.base_model import BaseModel

CASES = [
    {"lr": 2e-4, "warmup_iter": -1, "iters": 12, "scheduler": {"type": "MultiStepLR", "milestones": [3, 5, 5, 8], "gamma": 0.5}},
    # Warm-up leaves the group's lr where it ended; the milestones then scale that value.
    {"lr": 1e-3, "warmup_iter": 4, "iters": 12, "scheduler": {"type": "MultiStepLR", "milestones": [6, 9], "gamma": 0.1}},
    {"lr": 1e-3, "warmup_iter": -1, "iters": 14, "scheduler": {
        "type": "MultiStepRestartLR", "milestones": [2, 7, 10], "gamma": 0.5, "restarts": [0, 6], "restart_weights": [1, 0.5]}},
    {"lr": 2e-4, "warmup_iter": -1, "iters": 13, "scheduler": {
        "type": "CosineAnnealingRestartLR", "periods": [5, 8], "restart_weights": [1, 0.5], "eta_min": 1e-7}},
    {"lr": 1e-4, "warmup_iter": 3, "iters": 10, "scheduler": {"type": "CosineAnnealingRestartLR", "periods": [10], "restart_weights": [1]}},
]


def learning_rates(case):
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=case["lr"])
    options = dict(case["scheduler"])
    kind = options.pop("type")
    # As SRModel.setup_schedulers builds them.
    if kind in ("MultiStepLR", "MultiStepRestartLR"):
        scheduler = lr_scheduler.MultiStepRestartLR(optimizer, **options)
    else:
        scheduler = lr_scheduler.CosineAnnealingRestartLR(optimizer, **options)
    model = BaseModel.__new__(BaseModel)
    model.optimizers, model.schedulers = [optimizer], [scheduler]
    lrs = []
    for current_iter in range(1, case["iters"] + 1):
        model.update_learning_rate(current_iter, warmup_iter=case["warmup_iter"])
        lrs.append(model.get_current_learning_rate()[0])
        optimizer.step()
    return lrs


def write(out_dir):
    cases = [dict(case, lrs=learning_rates(case)) for case in CASES]
    (out_dir / "schedulers.json").write_text(json.dumps(cases, indent=1) + "\n")
