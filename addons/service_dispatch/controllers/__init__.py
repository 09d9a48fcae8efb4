from . import intake
from . import web_form
