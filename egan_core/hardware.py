"""What this machine can run fast: CPU features, native bf16, and a key for cached decisions.

Speed choices (bf16 or fp32, which enhancement path) differ between machines: an Intel CPU
with AMX runs bf16 convolutions several times faster than fp32, an AVX2-only CPU emulates
bf16 about ten times slower. Everything that decides by machine reads it from here, and
tests drive the decisions by passing a :class:`CpuFeatures` of their own.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
from dataclasses import dataclass, field

import torch


@dataclass(frozen=True)
class CpuFeatures:
    """The CPU's name and instruction-set flags.

    ``onednn_bf16`` says whether oneDNN (under torch) will run bf16 convolutions at all
    here: it refuses on CPUs without AVX512BW/VL/DQ or AVX-NE-CONVERT, and when
    ``ONEDNN_MAX_CPU_ISA`` caps it below them.
    """

    model: str
    arch: str
    flags: frozenset[str] = field(default_factory=frozenset)
    onednn_bf16: bool = False

    def has(self, flag: str) -> bool:
        return flag in self.flags

    @property
    def arm(self) -> bool:
        return self.arch in ("arm64", "aarch64")

    @property
    def bf16_unit(self) -> str | None:
        """The hardware that computes bf16 dot products natively, or None (emulated)."""
        if self.has("amx_bf16"):
            return "AMX"
        if self.has("avx512_bf16"):
            return "AVX512-BF16"
        if self.arm and (self.has("bf16") or self.onednn_bf16):
            return "ARM BF16"
        return None


def _cpuinfo() -> tuple[str, frozenset[str]]:
    """Model name and flags from ``/proc/cpuinfo`` (empty where there is none)."""
    model, flags, named = platform.processor() or platform.machine(), frozenset(), False
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key == "model name" and not named:
                    model, named = value.strip(), True
                elif key in ("flags", "features") and not flags:
                    flags = frozenset(value.split())
                if named and flags:
                    break
    except OSError:
        pass
    return model, flags


@functools.lru_cache(maxsize=1)
def cpu_features() -> CpuFeatures:
    """This machine's :class:`CpuFeatures` (read once per process)."""
    model, flags = _cpuinfo()
    if not flags:  # no /proc/cpuinfo (macOS, Windows): what torch itself detected
        found = set()
        capability = torch.backends.cpu.get_cpu_capability().lower()
        if capability in ("avx2", "avx512"):
            found |= {"avx2", "fma"}
        if capability == "avx512":
            found |= {"avx512f", "avx512bw"}
        checks = (("avx512_bf16", "_is_avx512_bf16_supported"), ("amx_tile", "_is_amx_tile_supported"),
                  ("avx512_vnni", "_is_avx512_vnni_supported"))
        for flag, check in checks:
            if bool(getattr(torch.cpu, check, lambda: False)()):
                found.add(flag)
        if "amx_tile" in found:
            found.add("amx_bf16")
        flags = frozenset(found)
    onednn = False
    if torch.backends.mkldnn.is_available():
        try:
            onednn = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            onednn = False
    return CpuFeatures(model=model, arch=platform.machine().lower(), flags=flags, onednn_bf16=onednn)


def native_bf16(device: torch.device | str, features: CpuFeatures | None = None) -> tuple[bool, str]:
    """Whether ``device`` computes bf16 natively, and why (a short phrase for logs).

    CUDA: the GPU supports bf16. CPU: AMX or AVX512-BF16 on x86 (or ARM's BF16), *and*
    oneDNN willing to use it. Elsewhere bf16 is emulated and slower than fp32.
    """
    dev = torch.device(device)
    if dev.type == "cuda":
        ok = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return ok, "bf16 supported by this GPU" if ok else "this GPU has no bf16"
    if dev.type != "cpu":
        return False, f"no bf16 fast path on {dev.type}"
    feats = features if features is not None else cpu_features()
    unit = feats.bf16_unit
    if unit is None:
        return False, "no native bf16 on this CPU (no AVX512-BF16 or AMX)"
    if not feats.onednn_bf16:
        return False, (f"the CPU has {unit}, but oneDNN will not run bf16 here"
                       " (ONEDNN_MAX_CPU_ISA set below AVX-512?)")
    return True, f"native bf16 on this CPU ({unit})"


def machine_key(device: torch.device | str = "cpu") -> str:
    """A short key for decisions cached per machine: CPU (or GPU) model, flags, torch, threads."""
    dev = torch.device(device)
    feats = cpu_features()
    parts = [feats.model, ",".join(sorted(feats.flags)), str(feats.onednn_bf16), torch.__version__,
             str(torch.get_num_threads()), dev.type, os.environ.get("ONEDNN_MAX_CPU_ISA", ""),
             os.environ.get("ATEN_CPU_CAPABILITY", "")]
    if dev.type == "cuda" and torch.cuda.is_available():
        parts.append(torch.cuda.get_device_name(dev))
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
