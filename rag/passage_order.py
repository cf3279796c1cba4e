"""The order of the passages the reader read: its reading, with retrieval's score beside it.

Retrieval ranks passages by how close they are to the question; the reader knows which of them holds the
answer. Ordering the three passages it read by the reader's value alone lifted facqa (MRR@10 .839 → .878) but
cost archives the reader was not trained on (belebele ID .937 → .909, xlsum 1.000 → .986): where the reader
finds no answer in any passage, its preference among them is noise, and a passage well ahead in retrieval
should not lose to one the reader merely dislikes less. So the reader orders the passages only when it found
an answer (its best value reaches `floor`), and retrieval's lead counts `score_weight` per unit of score.
Both were fitted on the public training questions only (`python -m eval.tune_reader_order`).
"""

from __future__ import annotations

from collections.abc import Sequence


def reader_order(values: Sequence[float], scores: Sequence[float], score_weight: float,
                 floor: float) -> list[int]:
    """The passages read (indexes into `values`, retrieval's order), best first.

    `values[i]` is the reader's value of passage i's best sentence (−inf where it read none), `scores[i]` the
    passage's retrieval score. Ties keep retrieval's order.
    """
    read = len(values)
    if len(scores) < read:
        raise ValueError(f"{read} reader values but {len(scores)} retrieval scores")
    if read < 2 or max(values) < floor:  # −inf values (nothing read) never reach a floor
        return list(range(read))
    return sorted(range(read), key=lambda i: (-(values[i] + score_weight * (scores[i] - scores[0])), i))
