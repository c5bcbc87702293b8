"""``egan demo``: the app's functions on real-sized images, the missing-extra message, and the
real app in headless Chromium (skipped only where Chromium, gradio or selenium is missing)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from egan_core import Registries, UsageError
from egan_core.demo import (
    INSTALL_HINT,
    Choice,
    dark_scene,
    enhance,
    list_choices,
    load,
    read_upload,
    run_batch,
    run_video,
    write_sample_clip,
    write_samples,
)
from egan_core.errors import InputError
from egan_core.video.io import Frame, VideoReader

GAN = Choice("gan", ("gan",))
FAST = Choice("fast", ("fast",))
#: Debian's packages chromium and chromium-driver (Ubuntu names the browser chromium-browser).
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
#: headless flags that work as root in a container, with no network calls of Chromium's own.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1000")


def _stub_factory(device: object = None) -> object:
    return lambda x: x


def _needs_a_file(path: str, device: object = None) -> object:
    return lambda x: x


def _model(checkpoint: str | None = None, device: object = None) -> object:
    return lambda x: x


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    """A 640x480 dark night street (mean around 15/255)."""
    return dark_scene(640, 480, seed=0)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's sample clip: 3 s of a dark street at 320x240 and 25 fps, with audio."""
    return write_sample_clip(tmp_path_factory.mktemp("clip"))


# ---- the app's functions -------------------------------------------------------------------


def test_choices_follow_the_registry() -> None:
    registries = Registries()
    for name in ("clahe", "denoise", "fast"):
        registries.enhancers.register(name, _stub_factory)
    for name in ("gan", "zoo"):
        registries.enhancers.register(name, _model)  # both take a checkpoint: gan gets them
    registries.enhancers.register("needs_file", _needs_a_file)  # cannot load without arguments
    labels = [c.label for c in list_choices(["a/x.pt", "a/y.pt", "b/y.pt"], registries=registries)]
    assert labels == ["gan", "clahe", "denoise", "fast", "zoo",
                      "gan + denoise", "clahe + denoise", "fast + denoise", "zoo + denoise",
                      "gan: x.pt", "gan + denoise: x.pt", "gan: a/y.pt", "gan + denoise: a/y.pt",
                      "gan: b/y.pt", "gan + denoise: b/y.pt"]


def test_choices_of_the_installed_plugins_start_with_the_default() -> None:
    choices = list_choices(["model.pt"])
    labels = [c.label for c in choices]
    assert labels[0] == "gan" and {"clahe", "denoise", "gan + denoise"} <= set(labels)
    assert choices[-1] == Choice("gan + denoise: model.pt", ("gan", "denoise"), "model.pt")


def test_enhance_brightens_a_dark_640x480_scene_once_loaded(scene: np.ndarray) -> None:
    out, seconds, score = enhance(scene, GAN)
    assert out.shape == scene.shape and out.dtype == np.uint8
    assert out.mean() > 3 * scene.mean()
    assert 0 < seconds < 60 and np.isfinite(score)
    misses = load.cache_info().misses
    half = enhance(Image.fromarray(scene), GAN, strength=0.5).image  # PIL in, same model
    assert load.cache_info().misses == misses
    assert scene.mean() < half.mean() < out.mean()
    assert np.array_equal(enhance(scene, GAN, strength=0).image, scene)


def test_enhance_refuses_a_strength_out_of_range(scene: np.ndarray) -> None:
    with pytest.raises(UsageError, match="strength"):
        enhance(scene, GAN, strength=3.0)


def test_read_upload_names_the_file_as_the_user_knows_it(tmp_path: Path) -> None:
    fake = tmp_path / "0123abcd" / "holiday.jpg"
    fake.parent.mkdir()
    fake.write_text("not a picture")
    with pytest.raises(InputError) as err:
        read_upload(fake, "holiday.jpg")
    assert str(err.value) == "'holiday.jpg': not an image (unknown or unsupported format)"


def test_run_batch_writes_full_resolution_and_refuses_non_images(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    big = uploads / "big night.png"
    Image.fromarray(dark_scene(1700, 1000, seed=1)).save(big, compress_level=1)
    (uploads / "notes.jpg").write_text("hello")
    out = tmp_path / "out"
    seen: list[str] = []
    batch = run_batch([uploads / "notes.jpg", big], Choice("clahe", ("clahe",)), 1.0, out,
                      on_image=lambda i, n, name: seen.append(f"{i}/{n} {name}"))
    assert seen == ["0/2 notes.jpg", "1/2 big night.png"]
    assert batch.errors == ["'notes.jpg': not an image (unknown or unsupported format)"]
    (item,) = batch.items
    assert item.size == (1700, 1000) and item.result == out / "big_night_clahe.png"
    with Image.open(item.result) as result:
        assert result.size == (1700, 1000)
    with Image.open(item.after_preview) as shown:
        assert max(shown.size) == 1600  # the page gets a preview, the download is full size
    assert "big night.png (1700x1000)" in item.caption and "NIQE" in item.caption
    assert sorted(p.name for p in uploads.iterdir()) == ["big night.png", "notes.jpg"]


def test_samples_are_small_dark_jpegs(tmp_path: Path) -> None:
    paths = write_samples(tmp_path)
    assert len(paths) == 2
    for path in paths:
        assert path.suffix == ".jpg" and path.stat().st_size < 150_000
        with Image.open(path) as im:
            assert im.size == (640, 427) and np.asarray(im).mean() < 40


def test_the_sample_clip_is_a_short_dark_clip_with_audio(clip: Path) -> None:
    with VideoReader(clip) as reader:
        info = reader.info
        first = next(i for i in reader.items() if isinstance(i, Frame)).image
    assert (info.width, info.height, info.rate, info.audio) == (320, 240, 25, 1)
    assert info.expected_frames == 75 and info.duration == pytest.approx(3.0)
    assert first.mean() < 40


def test_run_video_writes_a_browser_playable_mp4_and_a_still(tmp_path: Path, clip: Path) -> None:
    import av

    seen: list[tuple[int, int | None]] = []
    done = run_video(clip, FAST, 1.0, tmp_path / "out", on_frame=lambda n, total: seen.append((n, total)))
    assert done.video == tmp_path / "out" / "night_street_fast.mp4"
    with av.open(str(done.video)) as result:
        video = result.streams.video[0]
        assert "mp4" in result.format.name and len(result.streams.audio) == 1
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert sum(1 for _ in result.decode(video=0)) == 75
    assert seen[-1] == (75, 75)
    with Image.open(done.still) as still:
        assert still.format == "PNG" and still.size == (640, 240)
        pixels = np.asarray(still.convert("RGB"))
    assert pixels[:, 320:].mean() > 3 * pixels[:, :320].mean()  # input left, enhanced right
    assert done.caption.startswith("night_street.mp4 (320x240, 75 frames at 25 fps, 3.0 s): enhanced in ")
    assert done.caption.endswith(", audio kept")


def test_run_video_refuses_a_long_clip_before_loading_or_writing(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "out"
    unknown = Choice("nothing", ("no_such_enhancer",))  # loading it would fail: it is never loaded
    with pytest.raises(InputError) as err:
        run_video(clip, unknown, 1.0, out, max_seconds=0.5)
    assert str(err.value) == ("'night_street.mp4': it lasts 3.0 s; the demo takes clips up to 0.5 s; "
                              "use `egan enhance night_street.mp4 --out out/` for longer ones")
    assert not out.exists()


def test_run_video_refuses_a_text_file_named_mp4(tmp_path: Path) -> None:
    fake = tmp_path / "0123abcd" / "holiday.mp4"
    fake.parent.mkdir()
    fake.write_text("not a video")
    with pytest.raises(InputError) as err:
        run_video(fake, FAST, 1.0, tmp_path / "out")
    message = str(err.value)
    assert message.startswith("'holiday.mp4': not a video FFmpeg can read (")
    assert "\n" not in message and "0123abcd" not in message  # one line, the name the user knows
    assert not (tmp_path / "out").exists()


def test_the_page_has_a_video_tab_that_enhances_a_clip(tmp_path: Path, clip: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    gr = pytest.importorskip("gradio")
    from egan_core.demo_page import build_app

    app = build_app(gr, list_choices(), tmp_path, [], "cpu", clip=clip)  # built, not served
    by_id = {b.elem_id: b for b in app.blocks.values() if getattr(b, "elem_id", None)}
    assert {"egan-photos-tab", "egan-video-tab", "egan-clip-sample", "egan-clip-run", "egan-clip-still",
            "egan-photos", "egan-run"} <= set(by_id)
    assert by_id["egan-clip-enhancer"].value == "fast"  # the default model is too slow for video

    def handler(elem_id: str) -> object:
        (fn,) = [f.fn for f in app.fns.values() if by_id[elem_id] in f.outputs]
        return fn

    assert handler("egan-clip")() == str(clip)  # "Use the sample clip"
    video, still, text = handler("egan-clip-out")(str(clip), "fast", 0.5)
    assert Path(video).name == "night_street_fast.mp4" and Path(still).suffix == ".png"
    assert Path(video).parent.parent == tmp_path / "results"
    assert "**fast** at strength 0.5: night_street.mp4 (320x240, 75 frames" in text
    fake = tmp_path / "notes.mp4"
    fake.write_text("hello")
    with pytest.raises(gr.Error) as err:
        handler("egan-clip-out")(str(fake), "fast", 1.0)
    assert err.value.message.startswith("'notes.mp4': not a video FFmpeg can read")


# ---- the command line without the extra -----------------------------------------------------


def _run_cli(args: list[str], block_gradio: bool, tmp: Path) -> subprocess.CompletedProcess[str]:
    code = ("import sys\n"
            + ("sys.modules['gradio'] = None  # as if not installed\n" if block_gradio else "")
            + "from egan_core.cli.main import main\n"
            + f"sys.argv = ['egan', *{args!r}]\nmain()\n")
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=300)


def test_without_gradio_the_command_names_the_extra(tmp_path: Path) -> None:
    done = _run_cli(["demo", "--port", "7999"], block_gradio=True, tmp=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: egan demo needs gradio, which is not installed: {INSTALL_HINT}"]
    assert list(tmp_path.iterdir()) == []  # its temporary folder is gone too


def test_demo_help_does_not_import_gradio(tmp_path: Path) -> None:
    done = _run_cli(["demo", "--help"], block_gradio=True, tmp=tmp_path)
    assert done.returncode == 0 and "--checkpoint" in done.stdout and "egan[demo]" in done.stdout


# ---- the real app in a real browser ----------------------------------------------------------


def _browser_missing() -> str | None:
    for module in ("gradio", "selenium"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[dev,demo]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_http(url: str, server: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"egan demo exited with {server.returncode}: {server.stderr.read()}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        time.sleep(0.5)
    raise AssertionError(f"egan demo did not answer on {url} within {timeout:.0f} s")


@contextlib.contextmanager
def _demo_server(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """``egan demo`` on a free port, with its own cwd and TMPDIR; stopped with SIGTERM."""
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    port = _free_port()
    env = {**os.environ, "TMPDIR": str(tmp), "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen([sys.executable, "-m", "egan_core", "demo", "--port", str(port),
                               "--host", "127.0.0.1", "--device", "cpu"],
                              cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_for_http(url, server, timeout=240)
        yield url, cwd, tmp
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            out, err = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert server.returncode == 0, err
    assert f"egan demo: open http://127.0.0.1:{port}" in out


def _chromium(profile: Path) -> object:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)  # no Selenium Manager


def _save_artifact(path: Path) -> None:
    target = os.environ.get("EGAN_TEST_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


@pytest.mark.skipif(_browser_missing() is not None, reason=str(_browser_missing()))
def test_the_app_in_headless_chromium(tmp_path: Path, scene: np.ndarray) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    photo = tmp_path / "dark street.png"
    Image.fromarray(scene).save(photo)
    fake = tmp_path / "broken.jpg"  # an image's name, not an image's bytes: the server refuses it
    fake.write_text("this is not a photo")
    shot = tmp_path / "demo_screenshot.png"
    with _demo_server(tmp_path) as (url, cwd, tmp):
        driver = _chromium(tmp_path / "chromium-profile")
        try:
            driver.get(url)
            wait = WebDriverWait(driver, 120)
            upload = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#egan-photos input[type=file]"))
            upload.send_keys(f"{photo}\n{fake}")
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#egan-photos [aria-label='broken.jpg']"))
            chosen = driver.find_element(By.CSS_SELECTOR, "#egan-enhancer input").get_attribute("value")
            assert chosen == "gan"  # the default enhancer, preselected
            driver.find_element(By.ID, "egan-run").click()
            link = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#egan-downloads a[href]"))
            wait.until(lambda d: "NIQE" in d.find_element(By.ID, "egan-info").text)
            info = driver.find_element(By.ID, "egan-info").text
            status = driver.find_element(By.ID, "egan-status").text
            href = link.get_attribute("href")
        finally:
            driver.save_screenshot(str(shot))  # also of a failure, to see what went wrong
            driver.quit()
            _save_artifact(shot)
        assert "dark street.png (640x480): enhanced in" in info and " s; NIQE " in info
        assert "refused: 'broken.jpg': not an image" in status and "Traceback" not in status
        with urllib.request.urlopen(href, timeout=30) as response:
            result = Image.open(io.BytesIO(response.read()))
            result.load()
        assert result.size == (640, 480) and result.format == "PNG"
        assert np.asarray(result.convert("RGB")).mean() > 3 * scene.mean()
        assert list(cwd.iterdir()) == []
    assert list(tmp.iterdir()) == []  # uploads and results went into one folder, now removed
    with Image.open(shot) as screenshot:
        assert screenshot.size[0] >= 1000
