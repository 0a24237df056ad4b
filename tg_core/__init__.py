"""TimelyGator's shared library: events, storage, heartbeat merging, transforms, query2,
categories, reports, configuration and the durable HTTP client."""

__version__ = "0.1.0"
