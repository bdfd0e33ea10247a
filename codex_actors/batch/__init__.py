"""`codex-actors batch`: thousands of `exec` jobs as sessions in one trio process, or on Ray across machines.

Layering, top down: `local` (one process: limiter, collector, signals) and `ray_runner` (a Ray driver plus worker
actors, each running a trio loop of many sessions) -> `job` (one job: config, session, turn, `exec --json` events,
result) -> `sessions` (the seam where a job gets its session, lent the shared HTTP pool and V8 pool). `jobs` and
`results` are the two file formats, with no I/O past reading and appending. The CLI is `cli/batch_cmd.py`.
"""
