"""Extension objects, bare: each is bound to an app in create_app()."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from backoffice.models.base import Base

# join_transaction_mode only matters when a session is bound to a Connection
# that is already inside a transaction, which happens only in the test suite
# (each test runs inside an outer transaction that is rolled back); engines
# used in production are unaffected.
db = SQLAlchemy(model_class=Base, session_options={"join_transaction_mode": "create_savepoint"})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)
