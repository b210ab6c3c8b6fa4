"""Broadcasts: durable delivery to tens of thousands of citizens at each messenger's rate.

content.py sends one broadcast's content to one chat; sender.py paces one messenger's sends and
classifies their outcomes; worker.py holds the database lease, starts what is due and keeps the
progress messages up to date.
"""
