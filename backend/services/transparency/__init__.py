"""The installation-wide append-only transparency log (RFC 9162 Merkle tree, C2SP checkpoints).

- ``tree``: the Merkle math, no database (hashes, roots, inclusion and consistency proofs).
- ``log``: ``append`` inside the caller's transaction; entries, roots and proofs from stored nodes.
- ``checkpoints``: signed notes, the Ed25519 key store, ``make_checkpoint``.
- ``verify``: the whole-log audit (``yangguang audit verify``) and the leaf-source registry.
"""
