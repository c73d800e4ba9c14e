"""syrac.rank"""
