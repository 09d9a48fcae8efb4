from . import test_menus
from . import test_org_unit
from . import test_phone
from . import test_security
from . import test_tour
