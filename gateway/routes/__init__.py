"""Route handlers: the generic one every annotated RPC gets, and the
hand-written ones bound by the `handler` method option (files, sessions,
exec websockets, logs, raw text), plus the instance proxy."""
