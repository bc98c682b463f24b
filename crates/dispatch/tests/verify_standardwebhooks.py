"""Verifies one Standard Webhooks delivery with the spec's reference library.

usage: verify_standardwebhooks.py SECRET ID TIMESTAMP BODY_FILE SIGNATURE_HEADER
Exit 0 when `standardwebhooks.Webhook(secret).verify(body, headers)` accepts it, 1 otherwise.
"""

import sys

from standardwebhooks import Webhook


def main() -> int:
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    secret, msg_id, timestamp, body_file, signature = sys.argv[1:]
    with open(body_file, "rb") as f:
        body = f.read()
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": signature,
    }
    try:
        Webhook(secret).verify(body, headers)
    except Exception as e:  # the library raises WebhookVerificationError
        print(f"refused: {e}", file=sys.stderr)
        return 1
    print("verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
