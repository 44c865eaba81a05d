"""Gateway adapters, one module per gateway: parse what comes in, render replies, send, map statuses."""
