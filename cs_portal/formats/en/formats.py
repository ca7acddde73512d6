"""One date format across the pages: ISO dates (the same as the CSVs and the API), 24-hour times.

Django's locale formats win over the DATE_FORMAT setting, so the format lives here
(FORMAT_MODULE_PATH) rather than in settings.py.
"""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
MONTH_DAY_FORMAT = "j M"
YEAR_MONTH_FORMAT = "M Y"
