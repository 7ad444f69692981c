"""Attention-backprop experiment suite: does attention pooling make backprop converge faster?"""
