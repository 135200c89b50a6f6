"""Role keys (core/src/auth/keys.rs) for the shared key b"egg", computed with Python's hmac.

Run: python3 core/tests/vectors/gen_role_keys.py > core/tests/vectors/role_keys.txt
"""
import hmac

LABELS = ["exec controller", "exec agent", "file sender", "file receiver", "tcp client", "tcp server"]
print("# role key = HMAC-SHA256(b'egg', b'wirekit/1 role-key ' + label): label, then the key in hex")
for label in LABELS:
    key = hmac.new(b"egg", b"wirekit/1 role-key " + label.encode(), "sha256").hexdigest()
    print(label, key)
