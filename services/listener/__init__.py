"""The listener: one message source per ChatGroup, detection in process, XADD to the stream."""
