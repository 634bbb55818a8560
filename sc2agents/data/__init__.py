"""Offline datasets: replay decoding and conversion, storage, samplers, prefetching."""
