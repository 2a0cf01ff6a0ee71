"""Adapters that plug :class:`centrifugo_proto.ClientProtocol` into an I/O model.

This folder installs as ``centrifugo_proto.adapters``; this file keeps
``adapters/asyncio.py`` from ever shadowing the standard library's asyncio.
"""
