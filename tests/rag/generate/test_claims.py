"""Claims are split with their citations, and a claim is supported only by a cited sentence that says it."""

from __future__ import annotations

import numpy as np

from rag.embed.hashing import HashingEmbedder
from rag.generate.claims import CitedPassage, CitedSentence, ClaimChecker, names_in, numbers_in, split_claims

SUMMIT = "KTT Tiongkok-Asia Tengah kedua akan digelar di Kazakhstan pada 2025."
OTHER = "Menteri Luar Negeri Tiongkok, Wang Yi, mengatakan pertemuan tersebut mencapai lima konsensus."


def checker() -> tuple[ClaimChecker, dict[int, CitedPassage]]:
    embedder = HashingEmbedder()
    references = embedder.encode_passages([f"Kalimat acuan nomor {i} tentang cuaca, pasar dan sepak bola di kota {i}."
                                           for i in range(60)])
    sentences = [CitedSentence("a", 0, len(SUMMIT), SUMMIT), CitedSentence("a", len(SUMMIT) + 1, 200, OTHER)]
    for sentence, vector in zip(sentences, embedder.encode_passages([s.text for s in sentences])):
        sentence.vector = vector
    return ClaimChecker(embedder.encode_passages, references), {1: CitedPassage(1, sentences), 2: CitedPassage(2, [])}


def test_claims_keep_their_markers_wherever_the_model_put_them():
    claims = split_claims("KTT digelar di Kazakhstan [1]. Wang Yi hadir. [2][1] Tidak ada yang lain [1, 3]。Lagi。")
    assert [(c.text, c.citations) for c in claims] == [
        ("KTT digelar di Kazakhstan.", [1]), ("Wang Yi hadir.", [2, 1]), ("Tidak ada yang lain。", [1, 3]),
        ("Lagi。", [])]


def test_numbers_and_names_are_what_a_claim_must_share_with_its_source():
    assert numbers_in("2.500 orang pada 2025, naik 3,5 persen") == {"2500", "2025", "35"}
    assert names_in("The summit in Kazakhstan was opened by Xi Jinping and the KTT board in May.") == [
        "Kazakhstan", "Xi Jinping", "KTT"]
    assert names_in("The second China-Central Asia summit [1].") == ["China-Central Asia"]
    # A sentence's first word is capitalised anyway: it is not taken for a name ("Officials said ...").
    assert names_in("Officials said so.") == [] and names_in("Menurut Wang Yi, itu benar.") == ["Wang Yi"]


def test_a_claim_that_restates_its_cited_sentence_is_supported_with_the_exact_characters():
    check, passages = checker()
    [claim] = check.check(split_claims("KTT Tiongkok-Asia Tengah kedua digelar di Kazakhstan pada 2025 [1]."), passages)
    assert claim.supported and claim.support == {"article_id": "a", "start": 0, "end": len(SUMMIT)}


def test_a_wrong_number_a_wrong_name_or_a_missing_passage_is_unsupported_and_says_why():
    check, passages = checker()
    number, name, missing, uncited, empty = check.check(split_claims(
        "KTT Tiongkok-Asia Tengah kedua digelar di Kazakhstan pada 2027 [1]. "
        "KTT Tiongkok-Asia Tengah kedua digelar di Jepang pada 2025 [1]. "
        "KTT kedua digelar di Kazakhstan [4]. KTT kedua digelar di Kazakhstan. Wang Yi hadir [2]."), passages)
    assert not number.supported and "2027" in number.reason
    assert not name.supported and "Jepang" in name.reason
    assert not missing.supported and "[4]" in missing.reason
    assert not uncited.supported and "no passage" in uncited.reason
    assert not empty.supported


def test_a_claim_on_another_subject_with_the_same_words_missing_is_not_supported_by_similarity_alone():
    check, passages = checker()
    [claim] = check.check(split_claims("Pasar saham di kota itu naik tajam minggu ini [1]."), passages)
    assert not claim.supported and "z =" in claim.reason
    assert np.isfinite(float(claim.reason.split("z = ")[1].split()[0]))


def test_a_place_named_as_the_answers_language_names_it_is_found_under_the_archives_name():
    """An English answer says "China" and "Central Asia" where the Indonesian passage says "Tiongkok" and "Asia
    Tengah": the names are the same places (CLDR's names, rag/place_names.py); "Japan" is still not "Kazakhstan"."""
    check, passages = checker()
    same, wrong = check.check(split_claims(
        "The second China-Central Asia summit is held in Kazakhstan in 2025 [1]. "
        "The second China-Central Asia summit is held in Japan in 2025 [1]."), passages)
    assert same.reason is None or "contain" not in same.reason
    assert not wrong.supported and "Japan" in wrong.reason and "China" not in wrong.reason
