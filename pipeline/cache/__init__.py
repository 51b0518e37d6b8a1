"""The HDF5 device library: content-addressed keys, self-describing entry files,
atomic writes, verified reads."""

from pipeline.cache.entry_file import read_entry_file
from pipeline.cache.key import cache_key, key_payload
from pipeline.cache.store import ENV_VAR, CacheEntry, DeviceCache, default_root

__all__ = ["CacheEntry", "DeviceCache", "ENV_VAR", "cache_key", "default_root", "key_payload", "read_entry_file"]
