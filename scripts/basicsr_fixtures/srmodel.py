"""Iterations of BasicSR's own SRModel on the CPU, the reference for SRFuse's training loop.

For each case (an option file's text, kept in the fixture's metadata), BasicSR's SRModel is
built from those options on the CPU (torch.manual_seed(0) draws its initial weights) and
trained for `total_iter` iterations on fixed random batches, as basicsr/train.py runs them:
`update_learning_rate(current_iter, warmup_iter)`, `feed_data`, `optimize_parameters`. No
augmentation, no data loader: the batches are in the file.

Writes srmodel-<case>.safetensors: `lq` [iters, N, 3, h, w] and `gt` [iters, N, 3, 4h, 4w]
(uniform [0, 1]), `initial.<key>` (net_g before training), `final.<key>` (after the last
iteration) and, with EMA, `ema.<key>` (net_g_ema after it); metadata `reference`, a JSON object
with `options` (the YAML), `losses` and `lrs` (per iteration: the loss BasicSR logged and the
learning rate the iteration ran with).
"""

import json

import torch
import yaml
from basicsr.models.sr_model import SRModel
from safetensors.torch import save_file

NETWORK = """
network_g:
  type: SRVGGNetCompact
  num_in_ch: 3
  num_out_ch: 3
  num_feat: 8
  num_conv: 2
  upscale: 4
  act_type: prelu
"""
DATASETS = """
datasets:
  train:
    type: PairedImageDataset
    dataroot_gt: gt
    dataroot_lq: lq
    gt_size: 16
    batch_size_per_gpu: 2
"""

CASES = {
    "sgd": "name: srmodel_sgd\nmodel_type: SRModel\nscale: 4\nmanual_seed: 0\n" + DATASETS + NETWORK + """
train:
  optim_g:
    type: SGD
    lr: !!float 5e-2
    momentum: 0.9
    weight_decay: !!float 1e-4
  scheduler:
    type: MultiStepLR
    milestones: [3]
    gamma: 0.5
  total_iter: 6
  warmup_iter: -1
  pixel_opt:
    type: L1Loss
    loss_weight: 1.0
    reduction: mean
""",
    "adam-ema": "name: srmodel_adam_ema\nmodel_type: SRModel\nscale: 4\nmanual_seed: 0\n" + DATASETS + NETWORK + """
train:
  ema_decay: 0.9
  optim_g:
    type: Adam
    lr: !!float 2e-3
    weight_decay: 0
    betas: [0.9, 0.99]
  scheduler:
    type: MultiStepLR
    milestones: [4]
    gamma: 0.5
  total_iter: 7
  warmup_iter: 2
  pixel_opt:
    type: MSELoss
    loss_weight: 0.5
    reduction: mean
""",
}


def run(name, text):
    opt = yaml.safe_load(text)
    opt.update(is_train=True, dist=False, num_gpu=0, path={"pretrain_network_g": None})
    torch.manual_seed(0)
    model = SRModel(opt)
    initial = {k: v.detach().clone() for k, v in model.net_g.state_dict().items()}
    iters, batch, size = opt["train"]["total_iter"], opt["datasets"]["train"]["batch_size_per_gpu"], opt["datasets"]["train"]["gt_size"]
    generator = torch.Generator().manual_seed(1)
    lq = torch.rand(iters, batch, 3, size // 4, size // 4, generator=generator)
    gt = torch.rand(iters, batch, 3, size, size, generator=generator)
    losses, lrs = [], []
    for current_iter in range(1, iters + 1):
        model.update_learning_rate(current_iter, warmup_iter=opt["train"].get("warmup_iter", -1))
        lrs.append(model.get_current_learning_rate()[0])
        model.feed_data({"lq": lq[current_iter - 1], "gt": gt[current_iter - 1]})
        model.optimize_parameters(current_iter)
        losses.append(float(model.log_dict["l_pix"]))
    tensors = {"lq": lq, "gt": gt}
    tensors.update({f"initial.{k}": v for k, v in initial.items()})
    tensors.update({f"final.{k}": v.detach().clone() for k, v in model.net_g.state_dict().items()})
    if model.ema_decay > 0:
        tensors.update({f"ema.{k}": v.detach().clone() for k, v in model.net_g_ema.state_dict().items()})
    # One metadata entry: safetensors orders several at random, and re-runs must give the same bytes.
    metadata = {"reference": json.dumps({"options": text, "losses": losses, "lrs": lrs})}
    return {k: v.contiguous() for k, v in tensors.items()}, metadata


def write(out_dir):
    for name, text in CASES.items():
        tensors, metadata = run(name, text)
        path = out_dir / f"srmodel-{name}.safetensors"
        save_file(tensors, str(path), metadata=metadata)
        path.chmod(0o644)
