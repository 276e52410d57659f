"""Which natural language a text is written in, told by its function words and its script.

Deliberately small and deterministic: it only has to tell a reply in the lead's language from
one that is not (a weak model answering a Spanish question in English, or in Chinese). It
answers None when a text is too short or too mixed to say, and callers treat None as "no
evidence either way".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Frequent function words, chosen to be telling: words shared by several languages ("de",
# "la", "a") weigh less, as 1 / the number of languages listing them.
_FUNCTION_WORDS: dict[str, str] = {
    "en": "the and you your is are do does what how of to in for with we our it this that can"
    " have be i my there will would not from about when where which they their us am was",
    "es": "el la los las que de y en es por para con una un usted ustedes cuánto cuanto"
    " cuesta hola gracias sí pero mi su del al está son como más tiene hay puedo quiero",
    "fr": "le la les des et est vous nous pour avec une un que qui dans pas bonjour merci je"
    " mon votre ce sur du au êtes avez combien coûte suis",
    "de": "der die das und ist ich sie wir nicht mit für ein eine zu von auf den dem es hallo"
    " danke wie was bitte haben kann können ihr ihre",
    "pt": "o os as que de e em um uma para com não você olá obrigado obrigada do da dos das é"
    " no na quanto custa tem",
    "it": "il lo gli la le che di e è un una per con non sono ciao grazie del della mi quanto"
    " costa avete",
    "nl": "de het een en van ik je niet dat is op te zijn met voor hallo dank wij u hoeveel"
    " kost jullie",
}
_LANGUAGES_OF: dict[str, set[str]] = {}
for _language, _words in _FUNCTION_WORDS.items():
    for _word in _words.split():
        _LANGUAGES_OF.setdefault(_word, set()).add(_language)

_TOKEN = re.compile(r"[^\W\d_]+")
# Scripts a reply can be in besides Latin; a text mostly in one of them is in "that" language.
_SCRIPTS = ("CYRILLIC", "GREEK", "ARABIC", "HEBREW", "CJK", "HIRAGANA", "KATAKANA", "HANGUL")
MIN_SCORE = 1.5


def _script_of(text: str) -> str | None:
    """The non-Latin script most of the letters are in, if any."""
    counts: dict[str, int] = {}
    letters = 0
    for char in text:
        if not char.isalpha():
            continue
        letters += 1
        name = unicodedata.name(char, "")
        for script in _SCRIPTS:
            if name.startswith(script):
                counts[script] = counts.get(script, 0) + 1
                break
    if not letters or not counts:
        return None
    script, count = max(counts.items(), key=lambda item: item[1])
    return script.lower() if 2 * count > letters else None


@lru_cache(maxsize=4096)
def language_of(text: str) -> str | None:
    """ "en", "es", "fr", "de", "pt", "it", "nl", a script name ("cyrillic", "cjk", …), or
    None when the text does not say clearly."""
    script = _script_of(text)
    if script is not None:
        return script
    scores: dict[str, float] = {}
    for token in _TOKEN.findall(text.lower()):
        languages = _LANGUAGES_OF.get(token)
        if languages:
            for language in languages:
                scores[language] = scores.get(language, 0.0) + 1.0 / len(languages)
    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    best, score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    if score < MIN_SCORE or score < 1.5 * runner_up:
        return None
    return best
