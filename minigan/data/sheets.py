def extract_sheets(*a, **k): pass
def make_template(*a, **k): pass
