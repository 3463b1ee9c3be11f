"""OCR engines: text detection + recognition behind one small protocol.

The scanner only needs "image in, text lines with boxes out", so engines are swappable by
configuration (:func:`create_engine`).  The default engine runs the PP-OCRv6 *small* detector
and recogniser through ONNX Runtime, using the model files that ship inside the ``rapidocr``
wheel.  Nothing is ever downloaded at run time: the model paths are passed explicitly (which
is what keeps rapidocr from fetching its defaults) and each file is checked against a pinned
SHA-256 before a session is created, so a silently swapped or truncated model fails loudly at
start-up instead of degrading field accuracy in production.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import math
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

import cv2
import numpy as np
import numpy.typing as npt

from .models import Box, TextLine

ImageArray = npt.NDArray[np.uint8]


def as_u8(array: Any) -> ImageArray:
    """Type OpenCV's result as a uint8 image (no copy when it already is one)."""
    return np.asarray(array, dtype=np.uint8)


class EngineError(RuntimeError):
    """The engine cannot be created (missing package, missing or mismatching model files)."""


class ModelIntegrityError(EngineError):
    """A model file is missing or its SHA-256 differs from the pinned value."""


@runtime_checkable
class OcrEngine(Protocol):
    """What the scanner needs from an OCR engine.

    ``image`` is an ``HxWx3`` uint8 array in **BGR** order (OpenCV's convention, what
    ``cv2.imdecode`` returns).  Lines come back in the engine's reading order; the parser does
    its own layout analysis from the boxes, so the order is only a hint.
    """

    name: str

    def recognize(self, image: ImageArray) -> list[TextLine]: ...


# --------------------------------------------------------------------------------------------
# Model pinning
# --------------------------------------------------------------------------------------------

RAPIDOCR_VERSION: Final = "3.10.0"


@dataclass(frozen=True, slots=True)
class ModelPin:
    """A model file we trust: where it comes from and what its bytes must hash to."""

    role: str
    filename: str
    version: str
    sha256: str


#: Files bundled in the rapidocr 3.10.0 wheel (``rapidocr/models``).  The hashes equal the
#: ones rapidocr itself publishes for these models in ``default_models.yaml``.
RAPIDOCR_MODELS: Final[dict[str, ModelPin]] = {
    "det": ModelPin(
        "det",
        "PP-OCRv6_det_small.onnx",
        "PP-OCRv6 small det (rapidocr 3.10.0)",
        "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
    ),
    "rec": ModelPin(
        "rec",
        "PP-OCRv6_rec_small.onnx",
        "PP-OCRv6 small rec (rapidocr 3.10.0)",
        "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
    ),
    "cls": ModelPin(
        "cls",
        "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
        "PP-OCR mobile v2.0 text-direction cls (rapidocr 3.10.0)",
        "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
    ),
}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_model(directory: Path, pin: ModelPin) -> Path:
    """Return the path of ``pin`` in ``directory`` after checking its SHA-256."""
    path = directory / pin.filename
    if not path.is_file():
        raise ModelIntegrityError(
            f"{pin.role} model {pin.filename} ({pin.version}) not found in {directory}; "
            "install the pinned rapidocr wheel, models are never downloaded at run time"
        )
    actual = sha256_file(path)
    if actual != pin.sha256:
        raise ModelIntegrityError(
            f"{pin.role} model {path} has sha256 {actual}, expected {pin.sha256} "
            f"({pin.version}); refusing to load an unpinned model"
        )
    return path


def bundled_model_dir() -> Path:
    """Directory of the models shipped in the installed rapidocr wheel (version-checked)."""
    try:
        installed = importlib.metadata.version("rapidocr")
    except importlib.metadata.PackageNotFoundError as exc:
        raise EngineError(f"rapidocr=={RAPIDOCR_VERSION} is not installed") from exc
    if installed != RAPIDOCR_VERSION:
        raise EngineError(
            f"rapidocr {installed} is installed but the scanner is pinned to {RAPIDOCR_VERSION} "
            "(model hashes and pre/post-processing were validated against that version)"
        )
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or spec.origin is None:
        raise EngineError("cannot locate the rapidocr package")
    return Path(spec.origin).parent / "models"


# --------------------------------------------------------------------------------------------
# Default engine: rapidocr + ONNX Runtime
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RapidOcrOptions:
    """Tuning knobs of :class:`RapidOcrEngine`; defaults were chosen with the benchmark.

    See ``bench/ocr/README.md`` for the measurements behind each default.

    * ``det_min_side`` / ``det_max_side``: the detector input size.  The photo is scaled so
      that its short side is at least ``det_min_side`` and its long side at most
      ``det_max_side`` (the upper bound wins).  Detection time grows with the area, and
      upscaling small photos (rapidocr's default ``min 736``) *lost* blurred small text on
      the hard photos, so small photos are left as they are.  Recognition always crops from
      the full-resolution photo.
    * ``det_thresh`` / ``det_box_thresh`` / ``det_unclip_ratio``: DB post-processing
      (rapidocr's defaults; lower thresholds and larger boxes measured no better).
    * ``use_cls``: the 0/180 degree line classifier; nameplate photos are upright, so off.
    * ``min_text_score``: recognised lines below this are dropped; the parser weighs the rest
      by their confidence, so this is kept low.
    * ``threads``: ONNX Runtime threads of the detector, and the number of recognition
      calls run side by side (each single-threaded).  2 = the pod's cores.
    * ``det_sharpen`` / ``det_sharpen_sigma``: unsharp mask on the detector input only
      (0 = off).  It finds more boxes on some blurred photos but measured no better overall.
    * ``reread_below`` / ``reread_scale``: crops read with a confidence below
      ``reread_below`` are read again after a ``reread_scale`` x bicubic upscale and the more
      confident reading is kept (0 = off; measured neutral with the defaults below).
    * ``rec_batch_num`` / ``rec_min_width`` / ``rec_width_step``: each crop is scaled to 48 px
      height and padded to a multiple of ``rec_width_step`` (at least ``rec_min_width``);
      crops of the same padded width are recognised together, up to ``rec_batch_num`` per
      call.  rapidocr pads every batch to 320 px or to its widest crop, which makes the many
      short crops of a nameplate ("HP", "60") cost as much as a full line and makes a crop's
      reading depend on its neighbours in the batch.
    """

    det_min_side: int = 0
    det_max_side: int = 896
    det_thresh: float = 0.3
    det_box_thresh: float = 0.5
    det_unclip_ratio: float = 1.6
    use_cls: bool = False
    min_text_score: float = 0.3
    threads: int = 2
    rec_batch_num: int = 6
    rec_min_width: int = 160
    rec_width_step: int = 64
    det_sharpen: float = 0.0
    det_sharpen_sigma: float = 1.5
    reread_below: float = 0.0
    reread_scale: float = 2.0


class RapidOcrEngine:
    """PP-OCRv6 small det + rec on ONNX Runtime, models from the installed rapidocr wheel.

    Create one instance per worker process and reuse it: construction verifies the model
    hashes and builds the ONNX Runtime sessions (about a second); :meth:`recognize` is then
    stateless apart from those sessions and may be called from several threads at once
    (ONNX Runtime sessions are thread-safe), although with two cores one photo at a time
    already keeps both busy.

    The pipeline is rapidocr's detector and recogniser driven directly (detect, crop each
    box from the full-resolution image, recognise), rather than rapidocr's all-in-one call,
    so that detection size, angle classification and score filtering are ours to tune.
    """

    name = "rapidocr"

    def __init__(self, options: RapidOcrOptions | None = None, model_dir: Path | None = None):
        self.options = options or RapidOcrOptions()
        directory = model_dir if model_dir is not None else bundled_model_dir()
        paths = {role: verify_model(directory, pin) for role, pin in RAPIDOCR_MODELS.items()}
        self.model_paths: dict[str, Path] = paths
        try:
            from rapidocr import RapidOCR  # heavy import, only when an engine is built
            from rapidocr.utils.process_img import get_rotate_crop_image
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise EngineError("rapidocr is not installed") from exc
        self._crop = get_rotate_crop_image
        opts = self.options
        threads = max(1, min(opts.threads, os.cpu_count() or 1))
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.use_cls": opts.use_cls,
            "Global.text_score": opts.min_text_score,
            "Det.model_path": str(paths["det"]),
            "Rec.model_path": str(paths["rec"]),
            "Cls.model_path": str(paths["cls"]),
            # We size the detector input ourselves (det_input_scale); rapidocr then only
            # rounds to a multiple of 32.
            "Det.limit_side_len": 100_000,
            "Det.limit_type": "max",
            "Det.thresh": opts.det_thresh,
            "Det.box_thresh": opts.det_box_thresh,
            "Det.unclip_ratio": opts.det_unclip_ratio,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        ocr = RapidOCR(params=params)
        # rapidocr creates sessions lazily; build them now so that the first photo is not
        # slow and a broken model fails at start-up.
        self._det = ocr._load_det_model()  # type: ignore[no-untyped-call]
        self._cls = ocr._load_cls_model() if opts.use_cls else None  # type: ignore[no-untyped-call]
        # Recognition runs on our own single-threaded session, one batch per worker thread:
        # a nameplate gives 20-40 small crops, and ONNX Runtime parallelises such small
        # tensors poorly inside one call, while two calls side by side use both cores fully.
        self._rec_session = _cpu_session(paths["rec"], threads=1)
        self._rec_input_name = self._rec_session.get_inputs()[0].name
        meta = self._rec_session.get_modelmeta().custom_metadata_map
        if "character" not in meta:
            raise EngineError(f"{paths['rec']} has no character table in its metadata")
        self._charset = ["<blank>", *meta["character"].splitlines(), " "]
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ocr-rec")

    def close(self) -> None:
        """Stop the recognition worker threads (the engine is unusable afterwards)."""
        self._pool.shutdown(wait=False)

    def recognize(self, image: ImageArray) -> list[TextLine]:
        if image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
            raise ValueError(f"expected an HxWx3 BGR image, got shape {image.shape}")
        scale = det_input_scale(image.shape[0], image.shape[1], self.options)
        det_image = image
        if scale != 1.0:
            interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
            det_image = as_u8(cv2.resize(image, None, fx=scale, fy=scale, interpolation=interp))
        if self.options.det_sharpen > 0:
            det_image = unsharp_mask(
                det_image, self.options.det_sharpen_sigma * scale, self.options.det_sharpen
            )
        det = self._det(det_image)
        boxes = det.boxes
        if boxes is None or len(boxes) == 0:
            return []
        boxes = np.asarray(boxes, dtype=np.float32) / np.float32(scale)
        crops = [self._crop(image, np.array(box, dtype=np.float32)) for box in boxes]
        if self._cls is not None:
            crops = self._cls(crops).img_list or crops
        texts, scores = self._recognize_crops(crops)
        self._reread(crops, texts, scores)
        lines: list[TextLine] = []
        for box, raw, score in zip(boxes, texts, scores, strict=False):
            text = clean_text(raw)
            if text and float(score) >= self.options.min_text_score:
                lines.append(TextLine(text, float(score), _as_box(box)))
        return lines

    def _reread(self, crops: list[ImageArray], texts: list[str], scores: list[float]) -> None:
        """Second reading of unsure crops at a larger scale; keeps the more confident one."""
        opts = self.options
        unsure = [i for i, score in enumerate(scores) if score < opts.reread_below]
        if not unsure or opts.reread_scale <= 1.0:
            return
        bigger = [
            as_u8(
                cv2.resize(
                    crops[i],
                    None,
                    fx=opts.reread_scale,
                    fy=opts.reread_scale,
                    interpolation=cv2.INTER_CUBIC,
                )
            )
            for i in unsure
        ]
        again, again_scores = self._recognize_crops(bigger)
        for k, i in enumerate(unsure):
            if again_scores[k] > scores[i] + 0.02:
                texts[i], scores[i] = again[k], again_scores[k]

    def _recognize_crops(self, crops: list[ImageArray]) -> tuple[list[str], list[float]]:
        """CTC recognition of text crops, batched by aspect ratio with per-batch width."""
        height = 48
        ratios = [c.shape[1] / max(1.0, float(c.shape[0])) for c in crops]
        order = sorted(range(len(crops)), key=lambda i: ratios[i])
        texts = [""] * len(crops)
        scores = [0.0] * len(crops)
        batch = max(1, self.options.rec_batch_num)
        step = max(8, self.options.rec_width_step)
        widths = [
            max(self.options.rec_min_width, math.ceil(height * r / step) * step) for r in ratios
        ]
        # Crops are batched only with crops of the same padded width, so a crop's reading
        # never depends on which other crops happen to be on the photo.
        batches: list[list[int]] = []
        for i in order:
            if batches and len(batches[-1]) < batch and widths[batches[-1][0]] == widths[i]:
                batches[-1].append(i)
            else:
                batches.append([i])

        def run(ids: list[int]) -> list[tuple[str, float]]:
            width = widths[ids[0]]
            tensor = np.zeros((len(ids), 3, height, width), dtype=np.float32)
            for k, i in enumerate(ids):
                w = min(width, max(1, math.ceil(height * ratios[i])))
                resized = cv2.resize(crops[i], (w, height)).astype(np.float32)
                tensor[k, :, :, :w] = resized.transpose(2, 0, 1) / 127.5 - 1.0
            preds = self._rec_session.run(None, {self._rec_input_name: tensor})[0]
            best = preds.argmax(axis=2)
            prob = preds.max(axis=2)
            return [_ctc_decode(best[k], prob[k], self._charset) for k in range(len(ids))]

        for ids, results in zip(batches, self._pool.map(run, batches), strict=True):
            for i, (text, score) in zip(ids, results, strict=True):
                texts[i], scores[i] = text, score
        return texts, scores


def _cpu_session(path: Path, threads: int) -> Any:
    """An ONNX Runtime CPU session with a fixed thread count and full graph optimisation."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _ctc_decode(
    best: npt.NDArray[np.int64], prob: npt.NDArray[np.float32], charset: list[str]
) -> tuple[str, float]:
    """Greedy CTC: collapse repeats, drop blanks (index 0); score = mean kept probability."""
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    chars = [charset[int(c)] for c in best[keep] if int(c) < len(charset)]
    if not chars:
        return "", 0.0
    return "".join(chars), float(prob[keep].mean())


def unsharp_mask(image: ImageArray, sigma: float, amount: float) -> ImageArray:
    """``image + amount * (image - blur(image))``, saturated to uint8."""
    blurred = cv2.GaussianBlur(image, (0, 0), max(0.3, sigma))
    return as_u8(cv2.addWeighted(image, 1.0 + amount, blurred, -amount, 0))


def det_input_scale(height: int, width: int, options: RapidOcrOptions) -> float:
    """Scale factor for the detector input (see :class:`RapidOcrOptions`)."""
    short, long = min(height, width), max(height, width)
    scale = 1.0
    if options.det_min_side and short < options.det_min_side:
        scale = options.det_min_side / short
    if options.det_max_side and long * scale > options.det_max_side:
        scale = options.det_max_side / long
    return scale


_NON_LATIN = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")


def clean_text(text: str) -> str:
    """Drop CJK characters (the multilingual recogniser hallucinates them on noise)."""
    return " ".join(_NON_LATIN.sub("", text).split())


def _as_box(raw: Any) -> Box:
    pts = [(float(p[0]), float(p[1])) for p in raw]
    if len(pts) != 4:
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        pts = [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))]
    return (pts[0], pts[1], pts[2], pts[3])


# --------------------------------------------------------------------------------------------
# Optional engine: PaddleOCR (not installed by default, never downloads)
# --------------------------------------------------------------------------------------------


class PaddleOcrEngine:
    """PaddleOCR (``paddleocr`` package) with models from a local directory.

    Honest status: this adapter is **untested here** (paddlepaddle/paddleocr are not part of
    the project's environment) and was written against the PaddleOCR 3.x API
    (``PaddleOCR(text_detection_model_dir=..., text_recognition_model_dir=...)``,
    ``predict()`` returning ``rec_texts`` / ``rec_scores`` / ``rec_polys``).  It exists so a
    site with a Paddle install can switch engines by configuration.  It refuses to start
    unless ``model_dir`` holds non-empty ``det/`` and ``rec/`` directories (Paddle inference
    format), because PaddleOCR otherwise downloads models on first use, which this service must
    never do; the document-orientation, unwarping and line-orientation models (which would
    also be downloaded) are switched off.
    """

    name = "paddleocr"

    def __init__(
        self, model_dir: Path | str, lang: str = "en", threads: int | None = None, **kwargs: Any
    ):
        root = Path(model_dir)
        det_dir, rec_dir = root / "det", root / "rec"
        missing = [str(d) for d in (det_dir, rec_dir) if not d.is_dir() or not any(d.iterdir())]
        if missing:
            raise EngineError(
                "PaddleOCR engine needs local model directories (it would download otherwise): "
                f"missing {', '.join(missing)}"
            )
        # PaddleX otherwise contacts its model hosts at import to pick a download source.
        os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
        try:
            module = importlib.import_module("paddleocr")
        except ImportError as exc:
            raise EngineError("paddleocr is not installed; use the 'rapidocr' engine") from exc
        if threads:
            kwargs.setdefault("cpu_threads", threads)
        self._ocr = module.PaddleOCR(
            text_detection_model_dir=str(det_dir),
            text_recognition_model_dir=str(rec_dir),
            use_doc_orientation_classify=False,
            use_doc_unwarping=False,
            use_textline_orientation=False,
            lang=lang,
            **kwargs,
        )

    def recognize(self, image: ImageArray) -> list[TextLine]:
        lines: list[TextLine] = []
        for page in self._ocr.predict(image):
            data = page.json.get("res", page.json) if hasattr(page, "json") else page
            texts = data.get("rec_texts", [])
            scores = data.get("rec_scores", [])
            polys = data.get("rec_polys", data.get("dt_polys", []))
            for text, score, poly in zip(texts, scores, polys, strict=False):
                if str(text).strip():
                    lines.append(TextLine(str(text).strip(), float(score), _as_box(poly)))
        return lines


def create_engine(name: str = "rapidocr", **opts: Any) -> OcrEngine:
    """Build an engine by configuration name.

    ``rapidocr`` (default) accepts the fields of :class:`RapidOcrOptions` plus ``model_dir``;
    ``paddleocr`` requires ``model_dir`` (see :class:`PaddleOcrEngine`).
    """
    key = name.strip().lower().replace("-", "").replace("_", "")
    if key in {"rapidocr", "rapid", "ppocr", "onnx"}:
        model_dir = opts.pop("model_dir", None)
        options = RapidOcrOptions(**opts)
        return RapidOcrEngine(options, Path(model_dir) if model_dir else None)
    if key in {"paddleocr", "paddle"}:
        if "model_dir" not in opts:
            raise EngineError("the paddleocr engine requires model_dir (local models only)")
        return PaddleOcrEngine(**opts)
    raise EngineError(f"unknown OCR engine {name!r}; expected 'rapidocr' or 'paddleocr'")
