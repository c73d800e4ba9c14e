"""syrac.common"""
