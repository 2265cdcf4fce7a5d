"""The consumer: reads the stream in a consumer group, broadcasts, stores, acknowledges."""
