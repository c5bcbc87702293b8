"""``egan doctor``: a thin layer over :mod:`egan_core.doctor`."""

from __future__ import annotations

import json
from typing import Any

import click


def _timings(probe: dict[str, float]) -> str:
    return ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in sorted(probe.items(), key=lambda kv: kv[1]))


def _lines(rep: dict[str, Any]) -> list[str]:
    yes = {True: "yes", False: "no"}
    feats = ", ".join(f"{k} {yes[v]}" for k, v in rep["cpu_features"].items())
    cuda = "; ".join(f"{d['name']} (bf16 {yes[d['bf16']]})" for d in rep["cuda"]) or "none"
    lines = [
        f"egan         {rep['egan']} (Python {rep['python']}, {rep['platform']})",
        f"torch        {rep['torch']} (ATen CPU capability {rep['aten_cpu_capability']},"
        f" oneDNN bf16 {yes[rep['onednn_bf16']]})",
        f"cpu          {rep['cpu']}",
        f"features     {feats}",
        f"bf16 on cpu  {'native' if rep['cpu_bf16']['native'] else 'emulated'}: {rep['cpu_bf16']['why']}",
        f"threads      {rep['threads']['torch']} torch threads, {rep['threads']['cpus']} CPUs",
        f"cuda         {cuda}",
        f"onnxruntime  {rep['onnxruntime'] or 'not installed'}",
        f"device       {rep['device']}",
        f"cache        {rep['cache']}",
    ]
    if "auto_training" in rep:
        t = rep["auto_training"]
        lines.append(f"train auto   {t['precision']}, channels_last {yes[t['channels_last']]}, "
                     f"winograd {yes[t['winograd']]}: {t['reason']}")
        if t["probe_s"]:
            lines.append(f"  probe      {_timings(t['probe_s'])} (generator forward+backward with "
                         f"{', '.join(t['losses']) or 'no losses'}, batch {t['probe_batch']} at "
                         f"{t['probe_crop']} px, as egan run {t['recipe']} probes it)")
        e = rep["auto_enhance"]
        quality = e["probe_psnr_db"]
        psnr = "" if quality is None else f", {quality:.1f} dB from eager fp32"
        lines.append(f"enhance auto {e['backend']} {e['precision']}: {e['reason']}{psnr}")
        if e["probe_s"]:
            lines.append(f"  probe      {_timings(e['probe_s'])} (default model, 256x256)")
    return lines


@click.command()
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@click.option("--no-probe", is_flag=True, help="Skip the timed probes (instant; no auto choices).")
@click.option("--recipe", default="recipes/enlightengan.yaml", show_default=True,
              help="Whose training settings 'train auto' resolves (a path or a shipped recipe); "
                   "egan run of that recipe then reuses the decision.")
def doctor(device: str, as_json: bool, no_probe: bool, recipe: str) -> None:
    """Show this machine's CPU features, torch build and what auto resolves to (for bug reports).

    The first run times the candidates (the paper's recipe: about half a minute on 2 CPU
    cores); later runs read the cached decisions.
    """
    from egan_core.doctor import report

    rep = report(device, probe=not no_probe, recipe=recipe)
    if as_json:
        click.echo(json.dumps(rep, indent=1))
        return
    for line in _lines(rep):
        click.echo(line)
