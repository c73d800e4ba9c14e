"""syrac.count"""
