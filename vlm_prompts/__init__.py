"""Prompt templates and worked examples for the VLM, shipped as package data."""
