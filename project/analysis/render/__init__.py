"""analysis/render"""
