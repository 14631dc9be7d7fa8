"""The form kit that booking, enrollment and the API share: a person's fields (``people``),
the one passport rule (``passport``) and citizens' phone numbers (``phone``).

Import from the module that holds the piece, such as ``acs.core.forms.passport``.
"""
