"""Events: registrations with places counted in people, the waiting list, reminders,
carpools from the pickup points, calendar (ICS) files, and their administration.
"""
