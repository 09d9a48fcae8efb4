from . import intake
from . import web_form
from . import portal
