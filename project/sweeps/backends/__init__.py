"""sweeps/backends"""
