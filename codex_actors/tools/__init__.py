"""Tool router and handlers: what the model can call, and how each call becomes output items and events."""
