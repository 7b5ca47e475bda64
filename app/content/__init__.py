"""Public content: FAQ, editable pages, feedback votes, subscribers to the news, and their
administration.
"""
