"""Sign-in and sign-out pages (Django's auth views with the portal's templates)."""

from django.contrib import messages
from django.contrib.auth import views as auth_views

from identities.forms import SignInForm


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    form_class = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    """POST only (Django 5): a sign-out link would let any page sign people out."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have signed out.")
        return response
