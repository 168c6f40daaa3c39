"""The installation-wide append-only transparency log: its leaves and its signed checkpoints.

One Merkle tree (RFC 9162 §2.1) over every leaf. Rows are written only by
``backend.services.transparency`` (raw SQL, inside the caller's transaction) and never updated.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from backend.models.base import created_at


class LogLeaf(Model):
    """One leaf. ``content`` is the exact canonical JSON (RFC 8785) that was hashed:
    leaf_hash = SHA-256(0x00 ‖ content). ``nodes`` holds the hashes of the complete subtrees this
    leaf completed (levels 1, 2, …; hex, concatenated), so roots and proofs read O(log n) rows."""

    leaf_index = fields.BigIntField(primary_key=True, generated=False)
    kind = fields.CharField(max_length=32)  # backend.models.enums.LeafKind
    ref = fields.CharField(max_length=128)  # id of the source row
    agency_id = fields.UUIDField(null=True)
    content = fields.TextField()
    leaf_hash = fields.CharField(max_length=64)
    nodes = fields.TextField(default="")
    created_at = created_at()

    class Meta:
        table = "log_leaf"


class LogCheckpoint(Model):
    """A signed tree head: the C2SP checkpoint (signed note) as served, and its parts."""

    id = fields.BigIntField(primary_key=True)
    tree_size = fields.BigIntField(db_index=True)
    root_hash = fields.CharField(max_length=64)  # hex
    timestamp = fields.DatetimeField()  # from the injected clock
    key_name = fields.CharField(max_length=200)  # the signed-note key name (the origin)
    key_id = fields.CharField(max_length=8)  # hex of the 4-byte key hash
    signer = fields.CharField(max_length=100)  # the named system holding the key
    signature = fields.CharField(max_length=200)  # base64(key hash ‖ Ed25519 signature)
    note = fields.TextField()  # the whole signed note, byte for byte what /log/checkpoint serves

    class Meta:
        table = "log_checkpoint"
