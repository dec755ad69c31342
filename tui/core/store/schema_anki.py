"""Anki exports: the modification time each card's current text was first exported with."""
from sqlite_utils import Migrations

migrations = Migrations("vlearn.anki")


@migrations()
def m001_anki_notes(db):
    # One row per card: the digest of what the note carries (fields, tags, deck)
    # and the note mod time that version was first exported with. Re-exporting
    # an unchanged card reuses the time, so Anki sees nothing newer and keeps the
    # learner's own edits; a changed card gets a later time and updates.
    db["anki_notes"].create({"card_id": str, "digest": str, "mod": int}, pk="card_id", not_null={"digest", "mod"})
