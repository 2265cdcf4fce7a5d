"""telesniff: real-time Telegram detections for traders, native on Kubernetes."""

__version__ = "0.1.0"
