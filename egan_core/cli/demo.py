"""``egan demo``: a thin layer over :func:`egan_core.demo_page.serve` (gradio, imported lazily)."""

from __future__ import annotations

import click


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True,
              help="TCP port to serve on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; 0.0.0.0 exposes the demo to your network (no authentication).")
@click.option("--checkpoint", "checkpoints", multiple=True,
              type=click.Path(exists=True, dir_okay=False),
              help="Also offer this checkpoint (egan, original *_net_G_A.pth or .safetensors); repeatable.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
def demo(port: int, host: str, checkpoints: tuple[str, ...], device: str) -> None:
    """Try every enhancer on your own photos in the browser (a local web app).

    Upload photos or use the samples, pick any registered enhancer (or a --checkpoint), set
    the strength, compare before and after with the time taken and NIQE, and download the
    result at full resolution. Needs the optional extra: pip install 'egan[demo]'.
    """
    from egan_core.demo_page import serve

    serve(host=host, port=port, checkpoints=checkpoints, device=device, echo=click.echo)
