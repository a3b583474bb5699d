"""SM-2 against FSRS-6 on a real review log: which predicts recall better? (Not a timing.)

    python bench/fsrs_compare.py            # prints the Markdown table of the README
    python bench/fsrs_compare.py --json     # the same figures as JSON

Every review of tests/data/review-logs/ (cut to days: see review_log.py) is replayed in time
order through three models, each predicting the chance that the answer is not Again from
the card's history before it:

- SM-2: quizzer's own implementation (scheduler.answer, graded on the day the person
  answered). It predicts no probability, so, as srs-benchmark does for SM-2, its interval is
  read as the time at which recall falls to 90% on an exponential forgetting curve:
  R = 0.9 ** (t / I), t the days since the last review and I the interval SM-2 gave then.
- FSRS-6 with py-fsrs's default parameters, through quizzer.fsrs6 (R is FSRS's
  retrievability of the memory state before the review).
- FSRS-6 with parameters fitted by fsrs-rs-python on the first 80% of the reviews (by time).

Scored on the last 20%: log loss, RMSE(bins) (srs-benchmark's: predictions and outcomes
averaged in bins of interval, review number and lapse count, weighted by reviews) and AUC.
A card's first review is not scored (there is nothing to predict it from). The means are
plain, every scored review weighing the same, as in srs-benchmark. Takes a second or two.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import review_log  # noqa: E402

from quizzer import fsrs6, scheduler  # noqa: E402

TRAIN_SHARE = 0.8
SRS_BENCHMARK = {  # anki-revlogs-10k, weighted by reviews (log loss, RMSE(bins))
    "SM-2": (0.547, 0.1484),
    "FSRS-6": (0.3214, 0.0462),
}


@dataclass(frozen=True)
class Prediction:
    """One scored review: the predicted recall and what happened."""

    at: Any
    p: float
    recalled: bool
    elapsed: int  # days since the card's last review
    number: int  # the review's number in the card's history (2 for the second)
    lapses: int  # Again answers before it


def sm2_predictions(cards: dict[int, list[review_log.Answer]]) -> list[Prediction]:
    out = []
    for answers in cards.values():
        state = scheduler.new_card(answers[0].day)
        lapses = 0
        for n, answer in enumerate(answers, start=1):
            if state.last_graded is not None:
                t = (answer.day - state.last_graded).days
                p = 0.9 ** (t / state.interval)
                out.append(Prediction(answer.at, p, answer.rating > 1, t, n, lapses))
            own = replace(state, due=min(state.due, answer.day))
            state = scheduler.answer(own, quality=answer.quality, day=answer.day).after
            lapses += n > 1 and answer.rating == 1
    return out


def fsrs_predictions(
    cards: dict[int, list[review_log.Answer]], parameters: tuple[float, ...] | None
) -> list[Prediction]:
    model = fsrs6.Fsrs(fsrs6.Config(parameters=parameters, fuzz=False))
    out = []
    for card, answers in cards.items():
        memory: fsrs6.Memory | None = None
        lapses = 0
        for n, answer in enumerate(answers, start=1):
            if memory is not None:
                t = (answer.day - memory.last_review).days
                p = model.retrievability(memory, answer.day)
                out.append(Prediction(answer.at, p, answer.rating > 1, t, n, lapses))
            memory = model.review(memory, quality=answer.quality, day=answer.day, seed=str(card))
            lapses += n > 1 and answer.rating == 1
    return out


def fsrs_items(cards: dict[int, list[review_log.Answer]], before: Any = None) -> list[Any]:
    """fsrs-rs training items: one per review after a card's first (answered before ``before``)."""
    from fsrs_rs_python import FSRSItem, FSRSReview

    items = []
    for answers in cards.values():
        reviews = []
        for n, answer in enumerate(answers):
            if before is not None and answer.at >= before:
                break
            delta = (answer.day - answers[n - 1].day).days if n else 0
            reviews.append(FSRSReview(answer.rating, delta))
            if n:
                items.append(FSRSItem(list(reviews)))
    return items


def _held_out_items(cards: dict[int, list[review_log.Answer]], cutoff: Any) -> list[Any]:
    """fsrs-rs items for the reviews answered at ``cutoff`` or later."""
    from fsrs_rs_python import FSRSItem, FSRSReview

    items = []
    for answers in cards.values():
        reviews = []
        for n, answer in enumerate(answers):
            delta = (answer.day - answers[n - 1].day).days if n else 0
            reviews.append(FSRSReview(answer.rating, delta))
            if n and answer.at >= cutoff:
                items.append(FSRSItem(list(reviews)))
    return items


# --- the metrics --------------------------------------------------------------------


def log_loss(predictions: list[Prediction]) -> float:
    total = 0.0
    for x in predictions:
        p = min(max(x.p, 1e-9), 1 - 1e-9)
        total -= math.log(p) if x.recalled else math.log(1 - p)
    return total / len(predictions)


def _bin(value: float, base: float, scale: float) -> float:
    return round(scale * base ** math.floor(math.log(value) / math.log(base)), 2)


def rmse_bins(predictions: list[Prediction]) -> float:
    """srs-benchmark's RMSE(bins): bins of interval, review number and lapses, by reviews."""
    bins: dict[tuple[float, float, float], list[float]] = {}
    for x in predictions:
        key = (
            _bin(max(x.elapsed, 1), 3.62, 2.48),
            _bin(x.number, 1.89, 1.99),
            _bin(x.lapses, 1.73, 1.65) if x.lapses else 0.0,
        )
        entry = bins.setdefault(key, [0.0, 0.0, 0.0])
        entry[0] += x.p
        entry[1] += x.recalled
        entry[2] += 1
    squares = sum(n * (p / n - y / n) ** 2 for p, y, n in bins.values())
    return math.sqrt(squares / sum(n for _, _, n in bins.values()))


def auc(predictions: list[Prediction]) -> float:
    """The chance a recalled review is predicted higher than a forgotten one (ties: half)."""
    ordered = sorted(predictions, key=lambda x: x.p)
    rank_sum, positives, i = 0.0, 0, 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j].p == ordered[i].p:
            j += 1
        mean_rank = (i + 1 + j) / 2
        for x in ordered[i:j]:
            if x.recalled:
                rank_sum += mean_rank
                positives += 1
        i = j
    negatives = len(ordered) - positives
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def scores(predictions: list[Prediction]) -> dict[str, float]:
    return {
        "log_loss": log_loss(predictions),
        "rmse_bins": rmse_bins(predictions),
        "auc": auc(predictions),
        "reviews": len(predictions),
    }


# --- the comparison -----------------------------------------------------------------


def compare(path: Path = review_log.LOG) -> dict[str, Any]:
    from fsrs_rs_python import DEFAULT_PARAMETERS, FSRS

    cards = review_log.read_log(path)
    ordered = review_log.in_time_order(cards)
    cutoff = ordered[int(len(ordered) * TRAIN_SHARE)].at
    train = fsrs_items(cards, before=cutoff)
    fitted = tuple(FSRS(DEFAULT_PARAMETERS).compute_parameters(train, enable_short_term=False))

    models = {
        "SM-2 (quizzer)": sm2_predictions(cards),
        "FSRS-6, default parameters": fsrs_predictions(cards, None),
        "FSRS-6, fitted on the first 80%": fsrs_predictions(cards, fitted),
    }
    results = {
        name: scores([x for x in predictions if x.at >= cutoff])
        for name, predictions in models.items()
    }
    # fsrs-rs's own evaluation of the same held-out reviews, as a check: its per-review
    # predictions are the same as py-fsrs's, but it weights later items more (recency
    # weighting: the figure depends on the items' order), so its means differ a little.
    held_out = _held_out_items(cards, cutoff)
    check = {}
    for name, parameters in (("default", DEFAULT_PARAMETERS), ("fitted", list(fitted))):
        evaluation = FSRS(parameters).evaluate(held_out)
        check[name] = {"log_loss": evaluation.log_loss, "rmse_bins": evaluation.rmse_bins}
    return {
        "fsrs_rs_evaluate_recency_weighted": check,
        "log": path.name,
        "answers": sum(len(a) for a in cards.values()),
        "cards": len(cards),
        "train_until": cutoff.isoformat(),
        "train_items": len(train),
        "fitted_parameters": [round(w, 4) for w in fitted],
        "results": results,
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        "| model | log loss | RMSE(bins) | AUC | srs-benchmark log loss | RMSE(bins) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in report["results"].items():
        ref = SRS_BENCHMARK["SM-2" if name.startswith("SM-2") else "FSRS-6"]
        reference = f"{ref[0]} | {ref[1]}" if name.startswith(("SM-2", "FSRS-6, fitted")) else "|"
        lines.append(
            f"| {name} | {r['log_loss']:.4f} | {r['rmse_bins']:.4f} | {r['auc']:.4f} | "
            f"{reference} |"
        )
    held_out = next(iter(report["results"].values()))["reviews"]
    lines.append("")
    lines.append(
        f"{report['answers']} day-level answers of {report['cards']} cards; scored on the "
        f"{held_out} reviews from {report['train_until'][:10]} on (the last 20%)."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    report = compare()
    print(json.dumps(report, indent=2) if args.json else table(report))


if __name__ == "__main__":
    main()
