"""BasicSR's MATLAB-style imresize, tensor2img rounding, and its PSNR and SSIM, on real photos.

Writes metrics.safetensors. Images are stored as SRFuse holds them, channel-planar [C, H, W]
in RGB order (gray: C = 1); BasicSR is given them as its callers give them, HWC in cv2's BGR
order (gray as a 2-D array).

- `resize.<case>.input` (F32, values in [0, 1]) and, per scale, `resize.<case>.<scale>`
  (F32): basicsr.utils.matlab_functions.imresize(input, scale) (antialiasing=True), and
  `resize.<case>.<scale>.u8` (F16, exact integers 0...255): basicsr.utils.tensor2img of it,
  the rounded LQ image.
- `pair.<pair>.a`, `pair.<pair>.b` (F16, exact integers): 8-bit image pairs.

Metadata `reference`, one JSON object: `resize`, a list of {case, scale (the double given to
imresize), key}; `metrics`, a list of {pair, crop_border, test_y_channel, psnr, ssim} from
basicsr.metrics.calculate_psnr and calculate_ssim (psnr "inf" for identical images).
"""

import json
import math

import numpy as np
import torch
from basicsr.metrics import calculate_psnr, calculate_ssim
from basicsr.utils import tensor2img
from basicsr.utils.matlab_functions import imresize
from safetensors.torch import save_file
from skimage import data

SCALES = {"x0.25": 1 / 4, "x0.5": 1 / 2, "x0.333": 1 / 3, "x2": 2.0, "x4": 4.0}


def photos():
    """Crops of scikit-image's sample photos (uint8, HWC RGB or HW gray), and uniform noise."""
    astronaut = data.astronaut()[40:88, 180:244]  # 48 x 64, the face
    chelsea = data.chelsea()[100:123, 150:187]  # 23 x 37, fur and an eye
    camera = data.camera()[60:83, 200:237]  # 23 x 37 gray, the head
    return astronaut, chelsea, camera


def planar(image):
    """HWC RGB (or HW gray) to [C, H, W] RGB."""
    return image[None] if image.ndim == 2 else image.transpose(2, 0, 1)


def bgr(image):
    """What BasicSR's callers hand it: cv2's BGR order (gray stays 2-D)."""
    return image if image.ndim == 2 else np.ascontiguousarray(image[..., ::-1])


def from_bgr(image):
    return image if image.ndim == 2 else np.ascontiguousarray(image[..., ::-1])


def resized(image, scale):
    """imresize of a float [0, 1] RGB/gray image, and tensor2img's 8-bit rounding of it."""
    out = imresize(bgr(image), scale)  # numpy in, numpy HWC (or HW) out
    # A copy: tensor2img clamps its tensor in place, which would clamp `out` through shared memory.
    tensor = torch.from_numpy((out if out.ndim == 2 else out.transpose(2, 0, 1)).copy())
    rounded = tensor2img(tensor, rgb2bgr=False, out_type=np.uint8, min_max=(0, 1))
    return from_bgr(out), from_bgr(rounded)


def write(out_dir):
    astronaut, chelsea, camera = photos()
    noise = np.random.default_rng(7).random((9, 13, 3), dtype=np.float32)
    cases = [
        ("astronaut", astronaut.astype(np.float32) / 255.0, ["x0.25", "x0.5", "x0.333"]),
        ("chelsea", chelsea.astype(np.float32) / 255.0, ["x0.25", "x0.5", "x0.333"]),
        ("camera", camera.astype(np.float32) / 255.0, ["x0.25", "x0.5", "x0.333", "x2"]),
        ("noise", noise, ["x0.25", "x0.5", "x2", "x4"]),
    ]
    tensors, resize_cases = {}, []
    for name, image, scales in cases:
        tensors[f"resize.{name}.input"] = torch.from_numpy(np.ascontiguousarray(planar(image)))
        for label in scales:
            out, rounded = resized(image, SCALES[label])
            key = f"resize.{name}.{label}"
            tensors[key] = torch.from_numpy(np.ascontiguousarray(planar(out)))
            tensors[key + ".u8"] = torch.from_numpy(np.ascontiguousarray(planar(rounded))).to(torch.float16)
            resize_cases.append({"case": name, "scale": SCALES[label], "key": key})

    # Pairs a metric sees in practice: a photo against its x4 bicubic down-up version (what a
    # bicubic "SR" scores), against a noisy copy, gray included, and against itself.
    rng = np.random.default_rng(11)

    def noisy(image, sigma):
        return np.clip(np.round(image + rng.normal(0, sigma, image.shape)), 0, 255).astype(np.uint8)

    _, down = resized(astronaut.astype(np.float32) / 255.0, 1 / 4)
    _, down_up = resized(down.astype(np.float32) / 255.0, 4)
    gray_camera = data.camera()[100:140, 180:220]  # 40 x 40
    pairs = {
        "astronaut-downup": (astronaut, down_up),
        "chelsea-noisy": (chelsea, noisy(chelsea, 8)),
        "camera-noisy": (gray_camera, noisy(gray_camera, 5)),
        "camera-downup": (gray_camera, resized(resized(gray_camera.astype(np.float32) / 255.0, 1 / 2)[1].astype(np.float32) / 255.0, 2)[1]),
        "chelsea-same": (chelsea, chelsea.copy()),
    }
    metrics = []
    for name, (a, b) in pairs.items():
        assert a.shape == b.shape and a.dtype == b.dtype == np.uint8, name
        tensors[f"pair.{name}.a"] = torch.from_numpy(np.ascontiguousarray(planar(a))).to(torch.float16)
        tensors[f"pair.{name}.b"] = torch.from_numpy(np.ascontiguousarray(planar(b))).to(torch.float16)
        for crop_border in (0, 3, 4):
            for test_y in (False, True):
                psnr = float(calculate_psnr(bgr(a), bgr(b), crop_border, input_order="HWC", test_y_channel=test_y))
                ssim = float(calculate_ssim(bgr(a), bgr(b), crop_border, input_order="HWC", test_y_channel=test_y))
                metrics.append({
                    "pair": name, "crop_border": crop_border, "test_y_channel": test_y,
                    "psnr": psnr if math.isfinite(psnr) else "inf", "ssim": ssim,
                })

    # One metadata entry: safetensors orders several at random, and re-runs must give the same bytes.
    metadata = {"reference": json.dumps({"resize": resize_cases, "metrics": metrics})}
    path = out_dir / "metrics.safetensors"
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)
    path.chmod(0o644)
